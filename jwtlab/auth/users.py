"""Members in SQLite: sign-up and the password check (the notes' flow 2, step 1: 회원가입 DB저장).

What a student should take from this module:

* **Parameterized SQL only.** Every query passes values as ``?`` parameters, so a name
  such as ``Robert'); DROP TABLE users;--`` is stored as that string and nothing else.
  No SQL is ever built by formatting user input into a string.
* **Passwords are hashed with argon2id** (RFC 9106) through argon2-cffi. The database
  holds only the encoded hash (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``), which
  records its own parameters, so a hash made with cheap test parameters still verifies
  and a login re-hashes it when the parameters in use are stronger. A password is
  never stored, returned, logged or put in an exception message.
* **One rule for "the same name".** A name is normalised with Unicode NFKC and then
  compared case-insensitively (NFKC of the case fold, the "NFKC_Casefold" idea of
  Unicode §5.18 and RFC 8265's UsernameCaseMapped profile). NFKC makes the
  compatibility forms one name: full-width ``ａｌｉｃｅ`` is ``alice``, and Hangul
  typed as separate jamo (macOS keyboards produce NFD) is the same ``한글`` as the
  precomposed syllables Windows produces. Case-folding makes ``Alice``, ``ALICE`` and
  ``alice`` one account, because people read them as one person; allowing all three
  would let one user impersonate another. The name as typed (after NFKC) is kept for
  display; the folded form (``name_key``) carries the UNIQUE constraint.
* **One script per name** (Unicode TR #39 §5.2, "Highly Restrictive"). Cyrillic ``а``
  looks exactly like Latin ``a``, so ``аdmin`` and ``admin`` would be two members that
  display the same. A name's letters must come from one script, or from one of the
  combinations people really write: Latin + Han + Hiragana + Katakana (Japanese),
  Latin + Han + Bopomofo (Chinese), Latin + Han + Hangul (Korean). Digits, spaces and
  punctuation belong to no script and go with any.
* **No two members look alike** (Unicode TR #39 §4, `jwtlab.auth.confusables`). A name
  written *wholly* in another script can still pass for a Latin one: all-Cyrillic ``асе``
  beside ``ace``, Greek ``ΑΒΕ`` beside ``ABE``, Cherokee ``ᎪᏴᎬ`` too. Each name's
  *skeleton* (every character replaced by the one Unicode's confusables table says it is
  drawn like) is stored case-folded in ``name_skeleton``, under a UNIQUE index: a name whose
  folded skeleton is taken is refused with `ConfusableNameError`, even when two sign-ups
  race in two processes. Folding the case means a name that looks like *another spelling*
  of a member's name is refused too: ``ΑΒΕ`` beside ``abe`` (whose member can log in as
  ``ABE``), and ``Ian`` beside ``Lan`` (capital ``I`` is drawn like ``l``, and ``lan`` is
  ``Lan``). Digits follow the table: ``0`` is drawn like ``O``, ``1`` like ``l``.
* **Each database is its own app.** A `UserStore` keeps a random ``namespace`` in its
  file (table ``meta``); the token store and the lock-out put it in every Redis key, so
  two apps sharing one Redis never mix their members (member #1 of one app is not
  member #1 of the other).

Databases made before ``name_skeleton`` existed are upgraded when opened: the column is added
and filled in, oldest member first; if two members already look alike, both keep their
accounts (the later one has no skeleton stored) and only new look-alikes are refused. The
same happens when the confusables table changes (``meta`` records which one made the
skeletons).

SQLite docs: https://sqlite.org/lang_createtable.html (STRICT tables, UNIQUE),
https://sqlite.org/lang_altertable.html (ADD COLUMN).
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from jwtlab.auth.confusables import drawn_alike, skeleton, table_fingerprint
from jwtlab.clock import Clock

NAME_MAX_LENGTH = 64
PASSWORD_MIN_LENGTH = 8
# argon2 hashes whatever it is given; a cap keeps a 10 MB "password" from being a
# denial of service.
PASSWORD_MAX_LENGTH = 1024

# Unicode general categories a name may not contain: control (Cc), format (Cf, e.g.
# zero-width joiners and bidi overrides that make two names look the same),
# surrogates (Cs), private use (Co) and unassigned (Cn).
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,          -- as typed, after NFKC: for display
    name_key      TEXT    NOT NULL UNIQUE,   -- NFKC(casefold(NFKC(name))): for lookups
    password_hash TEXT    NOT NULL,          -- argon2id encoded hash, never the password
    created_at    REAL    NOT NULL,          -- NumericDate (seconds since the epoch)
    name_skeleton TEXT                       -- casefold(skeleton(name)): no two look alike
) STRICT;
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
"""
# Added after the table, so that a database made before the column existed gets it too; NULL
# for a member who already looked like an older one when the column was filled in.
SKELETON_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS users_name_skeleton ON users (name_skeleton)"
# Which rule and table made the stored skeletons: when either changes, they are recomputed.
SKELETON_RULE_VERSION = 1

# Scripts that may share one name (TR #39 §5.2, "Highly Restrictive"): any one script
# alone, or a subset of one of these sets.
_SCRIPT_COMBINATIONS = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
    frozenset({"Latin", "Han", "Hangul"}),
)
# Words that start a character's Unicode name without naming its script.
_NOT_A_SCRIPT = {"SMALL", "CAPITAL", "LETTER", "SYLLABLE", "CHARACTER", "LIGATURE", "SIGN"}


class UserError(ValueError):
    """Base of the sign-up and login errors; the message says what to do."""


class InvalidUserNameError(UserError):
    """The name breaks the naming rule (empty, too long, control characters...)."""


class InvalidPasswordError(UserError):
    """The password is too short or too long for sign-up."""


class MixedScriptNameError(InvalidUserNameError):
    """The name mixes letters of scripts that could make it look like another name."""


class UserExistsError(UserError):
    """Another member already has this name (compared after NFKC and case folding)."""


class ConfusableNameError(UserExistsError):
    """The name looks the same as an existing member's (Unicode TR #39 skeletons).

    ``existing`` is that member's name as displayed.
    """

    def __init__(self, message: str, existing: str) -> None:
        super().__init__(message)
        self.existing = existing


@dataclass(frozen=True)
class User:
    """A member as the rest of the kit sees it: no password hash here."""

    id: int
    name: str
    name_key: str
    created_at: float


def normalize_name(name: str) -> str:
    """The display form of a name: NFKC, checked against the naming rule.

    Raises `InvalidUserNameError` with the reason; returns the NFKC form.
    """
    if not isinstance(name, str):
        raise InvalidUserNameError("a user name must be text")
    display = unicodedata.normalize("NFKC", name)
    if not display:
        raise InvalidUserNameError("the user name is empty; choose a name of 1 to 64 characters")
    if len(display) > NAME_MAX_LENGTH:
        raise InvalidUserNameError(
            f"the user name is {len(display)} characters long; the limit is {NAME_MAX_LENGTH}"
        )
    if display != display.strip():
        raise InvalidUserNameError("the user name starts or ends with a space; remove it")
    for position, char in enumerate(display):
        category = unicodedata.category(char)
        if category in _FORBIDDEN_CATEGORIES or (char.isspace() and char != " "):
            codepoint = f"U+{ord(char):04X}"
            raise InvalidUserNameError(
                f"the user name contains an invisible or control character {codepoint} "
                f"at position {position}; use letters, digits, punctuation and single spaces"
            )
    if "  " in display:
        raise InvalidUserNameError("the user name contains two spaces in a row; use one")
    _check_one_script(display)
    return display


def script_of(char: str) -> str | None:
    """The script of a letter, read from its Unicode name (``"а"`` -> ``"Cyrillic"``), or
    None for a character of no particular script (digits, punctuation, spaces, marks).

    Python's `unicodedata` has no Script property (UAX #24); the name's first words are
    the script for every letter a name can hold after NFKC (``CYRILLIC SMALL LETTER A``,
    ``HANGUL SYLLABLE HAN``, ``CJK UNIFIED IDEOGRAPH-6F22`` -> Han).
    """
    if not unicodedata.category(char).startswith("L"):
        return None
    name = unicodedata.name(char, "")
    if name.startswith("CJK "):
        return "Han"
    if name.startswith(("MODIFIER LETTER", "KATAKANA-HIRAGANA")):
        return None  # shared by several scripts (Script=Common)
    words = []
    for word in name.split():
        if word in _NOT_A_SCRIPT or word.startswith("IDEOGRAPH") or "-" in word:
            break
        words.append(word)
    return " ".join(words).title() or None


def _check_one_script(display: str) -> None:
    scripts: dict[str, str] = {}
    for char in display:
        script = script_of(char)
        if script is not None:
            scripts.setdefault(script, char)
    if len(scripts) <= 1 or any(set(scripts) <= allowed for allowed in _SCRIPT_COMBINATIONS):
        return
    found = ", ".join(f"{script} ({char!r} U+{ord(char):04X})" for script, char in scripts.items())
    raise MixedScriptNameError(
        f"the user name mixes letters of several scripts: {found}. Letters of different "
        "scripts can look identical (Cyrillic 'а' and Latin 'a'), so such a name could pass "
        "for another member's (Unicode TR #39). Write it in one script"
    )


def name_key(name: str) -> str:
    """The form two names are compared in: NFKC, case-folded, NFKC again.

    Case folding can un-normalise (``"ǰ".casefold()`` decomposes), hence the second NFKC.

    >>> name_key("ＡＬＩＣＥ") == name_key("alice")
    True
    """
    return unicodedata.normalize("NFKC", normalize_name(name).casefold())


def name_skeleton(name: str) -> str:
    """The form two names are compared in for *looking* alike: the case-folded skeleton.

    >>> name_skeleton("асе") == name_skeleton("ACE")      # Cyrillic, Latin
    True
    """
    return _folded_skeleton(normalize_name(name))


def _folded_skeleton(display: str) -> str:
    # Case folding can un-normalise, hence NFD again (skeletons are in NFD).
    return unicodedata.normalize("NFD", skeleton(display).casefold())


def skeleton_rule() -> str:
    """What made a database's skeletons: the rule's version and the table's digest."""
    return f"{SKELETON_RULE_VERSION}/{table_fingerprint()}"


def _check_password_for_signup(password: str) -> str:
    if not isinstance(password, str):
        raise InvalidPasswordError("a password must be text")
    password = unicodedata.normalize("NFC", password)
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidPasswordError(
            f"the password is too short: use at least {PASSWORD_MIN_LENGTH} characters"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidPasswordError(
            f"the password is too long: use at most {PASSWORD_MAX_LENGTH} characters"
        )
    return password


def fast_password_hasher() -> PasswordHasher:
    """argon2id with the cheapest parameters argon2 allows: for tests and demos only.

    A hash costs well under a millisecond instead of ~50 ms and 64 MiB; never use this
    for real accounts.
    """
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class UserStore:
    """Members in one SQLite database (a file path, or ``":memory:"`` for a quick demo).

    >>> users = UserStore(":memory:", password_hasher=fast_password_hasher())
    >>> users.sign_up("Alice", "correct horse").name
    'Alice'
    >>> users.check_password("ALICE", "correct horse").name     # same member
    'Alice'
    >>> users.check_password("alice", "wrong password") is None
    True

    ``password_hasher`` defaults to argon2-cffi's `PasswordHasher()` (RFC 9106's
    second recommended profile: argon2id, t=3, m=64 MiB, p=4).

    The store is safe to share between threads (the web app does): one connection,
    guarded by a lock.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        password_hasher: PasswordHasher | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.path = str(path)
        self.password_hasher = password_hasher or PasswordHasher()
        self.clock = clock or time.time
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(self.path, check_same_thread=False)
        self._connection.row_factory = sqlite3.Row
        with self._lock:
            self._connection.executescript(SCHEMA)
            # One write transaction from the first read: two processes opening one old file
            # at once upgrade it once.
            with self._connection:
                self._connection.execute("BEGIN IMMEDIATE")
                self._connection.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('namespace', ?)",
                    (f"app-{secrets.token_hex(4)}",),
                )
                self._upgrade_skeletons()
                row = self._connection.execute(
                    "SELECT value FROM meta WHERE key = 'namespace'"
                ).fetchone()
        self.namespace: str = row["value"]
        """This database's name in Redis keys: made once, at random, kept in the file."""
        # Checking a login for an unknown name still runs one argon2 verification, so
        # the response time does not tell an attacker which names exist.
        self._dummy_hash = self.password_hasher.hash("not a real password")

    def _upgrade_skeletons(self) -> None:
        """Add and fill ``name_skeleton`` if this file predates it, another rule made it, or
        its UNIQUE index is missing.

        Members are visited oldest first; a member who looks like an older one keeps the
        account with no skeleton stored (the older one's already blocks new look-alikes).
        """
        connection = self._connection
        columns = {row["name"] for row in connection.execute("PRAGMA table_info(users)")}
        if "name_skeleton" not in columns:
            connection.execute("ALTER TABLE users ADD COLUMN name_skeleton TEXT")
        stored = connection.execute("SELECT value FROM meta WHERE key = 'skeleton_rule'").fetchone()
        indexed = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'users_name_skeleton'"
        ).fetchone()
        if stored is None or stored["value"] != skeleton_rule() or indexed is None:
            connection.execute("UPDATE users SET name_skeleton = NULL")
            taken: set[str] = set()
            for member in connection.execute("SELECT id, name FROM users ORDER BY id").fetchall():
                folded = _folded_skeleton(member["name"])
                if folded not in taken:
                    taken.add(folded)
                    connection.execute(
                        "UPDATE users SET name_skeleton = ? WHERE id = ?", (folded, member["id"])
                    )
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('skeleton_rule', ?)",
                (skeleton_rule(),),
            )
        connection.execute(SKELETON_INDEX)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> UserStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"UserStore({self.path!r}, users={self.count()})"

    # -- sign-up ---------------------------------------------------------------------------

    def sign_up(self, name: str, password: str) -> User:
        """Save a new member (flow 2, step 1). Returns the `User`.

        Raises `InvalidUserNameError`, `InvalidPasswordError`, `UserExistsError`, or its
        subclass `ConfusableNameError` when the name looks like a member's.
        """
        display = normalize_name(name)
        key = name_key(display)
        folded_skeleton = _folded_skeleton(display)
        password = _check_password_for_signup(password)
        password_hash = self.password_hasher.hash(password)
        created_at = self.clock()
        try:
            with self._lock, self._connection:
                cursor = self._connection.execute(
                    "INSERT INTO users (name, name_key, password_hash, created_at, name_skeleton)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (display, key, password_hash, created_at, folded_skeleton),
                )
        except sqlite3.IntegrityError:
            # The UNIQUE indexes decided, so that two sign-ups racing in two processes cannot
            # both pass; now find out which one, to say so.
            raise self._refusal(display, key, folded_skeleton) from None
        user_id = cursor.lastrowid
        assert user_id is not None  # set by every INSERT that succeeded
        return User(id=user_id, name=display, name_key=key, created_at=created_at)

    def _refusal(self, display: str, key: str, folded_skeleton: str) -> UserExistsError:
        if self._fetch_one("SELECT 1 FROM users WHERE name_key = ?", (key,)) is not None:
            return UserExistsError(
                f"the name {display!r} is taken (names are compared ignoring case and "
                "Unicode width); choose another"
            )
        row = self._fetch_one("SELECT name FROM users WHERE name_skeleton = ?", (folded_skeleton,))
        if row is None:  # cannot happen: nothing is ever deleted
            return UserExistsError(f"the name {display!r} is taken; choose another")
        existing = row["name"]
        alike = drawn_alike(display) + drawn_alike(existing)
        shown = ", ".join(
            f"{char!r} (U+{ord(char):04X}) like {prototype!r}"
            for char, prototype in dict(alike).items()
        )
        because = f": Unicode's confusables table draws {shown}" if shown else ""
        return ConfusableNameError(
            f"the name {display!r} looks the same as an existing member's name {existing!r} "
            f"(compared by their Unicode TR #39 skeletons, ignoring case{because}); "
            "choose another",
            existing=existing,
        )

    # -- lookups ---------------------------------------------------------------------------

    def get(self, name: str) -> User | None:
        """The member with this name (any case or width), or None."""
        try:
            key = name_key(name)
        except InvalidUserNameError:
            return None
        row = self._fetch_one(
            "SELECT id, name, name_key, created_at FROM users WHERE name_key = ?", (key,)
        )
        return None if row is None else _user_from_row(row)

    def get_by_id(self, user_id: int) -> User | None:
        row = self._fetch_one(
            "SELECT id, name, name_key, created_at FROM users WHERE id = ?", (user_id,)
        )
        return None if row is None else _user_from_row(row)

    def count(self) -> int:
        row = self._fetch_one("SELECT count(*) AS n FROM users", ())
        assert row is not None  # count(*) always returns one row
        return int(row["n"])

    # -- the password check (flow 2, step 2: 회원가입 확인) -----------------------------------

    def check_password(self, name: str, password: str) -> User | None:
        """The member if ``password`` is theirs, else None (unknown name or wrong password).

        Both failures look the same from outside, on purpose: telling them apart would
        let anyone list the members.
        """
        try:
            key = name_key(name)
        except InvalidUserNameError:
            key = None
        row = None
        if key is not None:
            row = self._fetch_one(
                "SELECT id, name, name_key, created_at, password_hash FROM users"
                " WHERE name_key = ?",
                (key,),
            )
        if not isinstance(password, str) or len(password) > PASSWORD_MAX_LENGTH:
            return None
        password = unicodedata.normalize("NFC", password)
        stored_hash = row["password_hash"] if row is not None else self._dummy_hash
        try:
            self.password_hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.password_hasher.check_needs_rehash(stored_hash):
            self._rehash(row["id"], password)
        return _user_from_row(row)

    def _rehash(self, user_id: int, password: str) -> None:
        new_hash = self.password_hasher.hash(password)
        with self._lock, self._connection:
            self._connection.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?", (new_hash, user_id)
            )

    def _fetch_one(self, sql: str, parameters: tuple[object, ...]) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._connection.execute(sql, parameters).fetchone()
        return row


def _user_from_row(row: sqlite3.Row) -> User:
    return User(
        id=row["id"], name=row["name"], name_key=row["name_key"], created_at=row["created_at"]
    )
