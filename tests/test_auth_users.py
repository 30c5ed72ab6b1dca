"""Members in a real SQLite file: parameterized SQL, argon2id, the NFKC + casefold rule, and
no two names that look alike (TR #39 skeletons)."""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata

import pytest
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from jwtlab import auth
from jwtlab.auth import UserStore, confusables, fast_password_hasher


@pytest.fixture
def users(tmp_path):
    with UserStore(tmp_path / "users.sqlite3", password_hasher=fast_password_hasher()) as store:
        yield store


def raw_rows(path):
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT id, name, name_key, password_hash FROM users").fetchall()


def test_sign_up_stores_an_argon2id_hash_never_the_password(users, tmp_path):
    user = users.sign_up("alice", "correct horse battery")
    rows = raw_rows(tmp_path / "users.sqlite3")
    assert rows == [(user.id, "alice", "alice", rows[0][3])]
    assert rows[0][3].startswith("$argon2id$")
    assert "correct horse battery" not in rows[0][3]
    assert b"correct horse battery" not in (tmp_path / "users.sqlite3").read_bytes()


def test_check_password(users):
    users.sign_up("alice", "correct horse battery")
    assert users.check_password("alice", "correct horse battery").name == "alice"
    assert users.check_password("alice", "wrong horse battery") is None
    assert users.check_password("bob", "correct horse battery") is None
    assert users.check_password("alice", "") is None
    assert users.check_password("alice", "x" * 100_000) is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("alice", "ALICE"),
        ("Alice", "ａｌｉｃｅ"),  # full-width compatibility forms
        ("한글", "\u1112\u1161\u11ab\u1100\u1173\u11af"),  # conjoining jamo (NFD, macOS)
        ("Straße", "STRASSE"),  # case folding, not lower(): ß folds to ss
        ("ﬁle", "FILE"),  # the fi ligature
    ],
)
def test_names_equal_after_nfkc_and_casefold_are_one_member(users, first, second):
    users.sign_up(first, "correct horse battery")
    with pytest.raises(auth.UserExistsError, match="taken"):
        users.sign_up(second, "another password")
    assert users.check_password(second, "correct horse battery").name == users.get(first).name
    assert users.count() == 1


def test_unicode_names_are_kept_for_display(users):
    user = users.sign_up("김민수", "correct horse battery")
    assert user.name == "김민수"
    assert users.get("김민수") == user
    emoji = users.sign_up("🦊 fox", "correct horse battery")
    assert users.get("🦊 FOX") == emoji


@pytest.mark.parametrize(
    "name",
    [
        "Robert'); DROP TABLE users;--",
        "' OR '1'='1",
        "admin'--",
        '"; DELETE FROM users; --',
        "%",
        "_",
    ],
)
def test_sql_looking_names_are_stored_verbatim(users, tmp_path, name):
    users.sign_up("alice", "correct horse battery")
    user = users.sign_up(name, "correct horse battery")
    assert user.name == name
    assert users.get(name) == user
    # the table is intact, nothing else matched, and the other member is untouched
    names = sorted(row[1] for row in raw_rows(tmp_path / "users.sqlite3"))
    assert names == sorted(["alice", name])
    assert users.check_password(name, "correct horse battery") == user
    assert users.check_password("alice", "correct horse battery").name == "alice"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("a" * 65, "limit is 64"),
        (" alice", "starts or ends with a space"),
        ("alice ", "starts or ends with a space"),
        ("al  ice", "two spaces"),
        ("ali\x00ce", "U+0000"),
        ("ali\nce", "U+000A"),
        ("ali\u200bce", "U+200B"),  # zero-width space: two names that look alike
        ("ali\u202ece", "U+202E"),  # right-to-left override
        ("ali\tce", "U+0009"),
    ],
)
def test_bad_names_are_refused_with_the_reason(users, name, message):
    with pytest.raises(auth.InvalidUserNameError, match=re.escape(message)):
        users.sign_up(name, "correct horse battery")
    assert users.count() == 0


@pytest.mark.parametrize(
    ("password", "message"), [("pw123", "too short"), ("x" * 1025, "too long")]
)
def test_bad_passwords_are_refused_without_echoing_them(users, password, message):
    with pytest.raises(auth.InvalidPasswordError, match=message) as caught:
        users.sign_up("alice", password)
    assert password not in str(caught.value)
    assert users.count() == 0


def test_password_is_nfc_normalised(users):
    users.sign_up("alice", "비밀번호는 한글입니다")  # precomposed syllables (NFC)
    assert users.check_password("alice", unicodedata.normalize("NFD", "비밀번호는 한글입니다"))


def test_weak_hash_is_upgraded_on_login(tmp_path):
    path = tmp_path / "users.sqlite3"
    with UserStore(path, password_hasher=fast_password_hasher()) as cheap:
        cheap.sign_up("alice", "correct horse battery")
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    with UserStore(path, password_hasher=stronger) as store:
        assert store.check_password("alice", "correct horse battery")
    assert "m=16,t=2,p=1" in raw_rows(path)[0][3]


def test_default_hasher_is_strong():
    store = UserStore(":memory:")
    assert store.password_hasher.memory_cost >= 64 * 1024
    assert store.password_hasher.time_cost >= 2
    store.close()


def test_concurrent_sign_ups_of_one_name_make_one_member(users):
    results = []

    def sign_up(name):
        try:
            results.append(users.sign_up(name, "correct horse battery"))
        except auth.UserExistsError as error:
            results.append(error)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in ["bob", "BOB", "Bob"] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(r, auth.User) for r in results) == 1
    assert users.count() == 1


def test_memory_database(tmp_path):
    with UserStore(":memory:", password_hasher=fast_password_hasher()) as store:
        store.sign_up("alice", "correct horse battery")
        assert "users=1" in repr(store)


# -- one script per name (TR #39) and one namespace per database ------------------------------


@pytest.mark.parametrize(
    "name, scripts",
    [
        ("аdmin", "Cyrillic ('а' U+0430), Latin"),  # Cyrillic а + Latin dmin
        ("pаypal", "Latin ('p' U+0070), Cyrillic"),
        ("Αlice", "Greek ('Α' U+0391), Latin"),
        ("Саша smith", "Cyrillic ('С' U+0421), Latin"),
    ],
)
def test_mixed_script_names_are_refused_with_the_scripts_named(users, name, scripts):
    with pytest.raises(auth.MixedScriptNameError) as refused:
        users.sign_up(name, "correct horse")
    assert scripts in str(refused.value) and "TR #39" in str(refused.value)
    assert isinstance(refused.value, auth.InvalidUserNameError)
    assert users.count() == 0


@pytest.mark.parametrize(
    "name",
    ["admin", "Саша", "Ελένη", "김민수", "김minsu 2", "山田さん", "ヤマダ Taro", "王小明", "José"],
)
def test_one_script_and_the_usual_combinations_are_accepted(users, name):
    assert users.sign_up(name, "correct horse").name == unicodedata.normalize("NFKC", name)


def test_the_namespace_is_kept_in_the_database_file(tmp_path):
    path = tmp_path / "members.sqlite3"
    with UserStore(path, password_hasher=fast_password_hasher()) as first:
        namespace = first.namespace
    with UserStore(path, password_hasher=fast_password_hasher()) as again:
        assert again.namespace == namespace
    with UserStore(tmp_path / "other.sqlite3", password_hasher=fast_password_hasher()) as other:
        assert other.namespace != namespace
    assert re.fullmatch(r"app-[0-9a-f]{8}", namespace)


# -- no two members look alike (TR #39 §4 skeletons) -------------------------------------------


@pytest.mark.parametrize(
    ("member", "look_alike"),
    [
        ("ace", "асе"),  # all Cyrillic
        ("scope", "ѕсоре"),  # all Cyrillic, ѕ U+0455 too
        ("paypal", "РАУРАІ"),  # Cyrillic capitals, І U+0406 drawn like l; compared ignoring case
        ("ABE", "ΑΒΕ"),  # all Greek
        ("abe", "ΑΒΕ"),  # a look-alike of ABE, another spelling of abe's name
        ("ACE", "ᎪᏟᎬ"),  # Cherokee
        ("BOB", "B0B"),  # the table draws the digit 0 like O
        ("bill", "biII"),  # and capital I like l
        ("arnold", "amold"),  # and m like rn
        ("❤ fox", "❤️ fox"),  # a variation selector draws nothing
        ("alice", "alice\u034f"),  # nor does the combining grapheme joiner
    ],
)
def test_a_name_that_looks_like_a_members_is_refused_naming_it(users, member, look_alike):
    users.sign_up(member, "correct horse battery")
    with pytest.raises(auth.ConfusableNameError) as refused:
        users.sign_up(look_alike, "another password")
    message = str(refused.value)
    assert f"looks the same as an existing member's name {member!r}" in message
    assert message.endswith("choose another")
    assert refused.value.existing == member
    assert isinstance(refused.value, auth.UserExistsError)  # the web app's 409
    assert users.count() == 1
    # either way round
    with UserStore(":memory:", password_hasher=fast_password_hasher()) as other:
        other.sign_up(look_alike, "correct horse battery")
        with pytest.raises(auth.ConfusableNameError, match=re.escape(repr(look_alike))):
            other.sign_up(member, "another password")


def test_the_refusal_says_which_characters_are_drawn_alike(users):
    users.sign_up("ace", "correct horse battery")
    with pytest.raises(auth.ConfusableNameError) as refused:
        users.sign_up("асе", "another password")
    assert "'а' (U+0430) like 'a', 'с' (U+0441) like 'c', 'е' (U+0435) like 'e'" in str(
        refused.value
    )


def test_the_digits_follow_the_unicode_table(users):
    table = confusables.prototypes()
    assert (table[ord("0")], table[ord("1")], table[ord("I")]) == ("O", "l", "l")
    assert ord("O") not in table and ord("o") not in table and ord("l") not in table
    users.sign_up("user1", "correct horse battery")
    with pytest.raises(auth.ConfusableNameError):
        users.sign_up("userl", "another password")
    assert users.sign_up("user2", "correct horse battery").name == "user2"


@pytest.mark.parametrize("same_name", ["ａｃｅ", "𝐚𝐜𝐞", "ACE"])
def test_nfkc_forms_and_case_are_the_same_name_not_a_look_alike(users, same_name):
    users.sign_up("ace", "correct horse battery")
    with pytest.raises(auth.UserExistsError, match="is taken") as refused:
        users.sign_up(same_name, "another password")
    assert not isinstance(refused.value, auth.ConfusableNameError)


def test_names_in_other_scripts_still_sign_up_beside_latin_ones(users):
    for latin in ["ace", "paypal", "alice", "admin", "minsu", "sasha"]:
        users.sign_up(latin, "correct horse battery")
    for name in ["Саша", "Дмитрий", "Ελένη", "김민수", "이서연", "山田さん", "王小明", "José"]:
        assert users.sign_up(name, "correct horse battery").name == name
    assert users.count() == 14


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("асе\ud800", "U+D800"),  # a lone surrogate, after letters the table maps
        ("а" * 100_000, "limit is 64"),  # huge, and every letter a confusable
        ("\ufdfa" * 4, "limit is 64"),  # NFKC makes these 4 characters 72
    ],
)
def test_lone_surrogates_and_huge_names_are_still_refused_cleanly(users, name, message):
    users.sign_up("ace", "correct horse battery")
    with pytest.raises(auth.InvalidUserNameError, match=re.escape(message)):
        users.sign_up(name, "correct horse battery")


def test_racing_look_alikes_in_two_stores_on_one_file_make_one_member(tmp_path):
    """Two connections to one file, as two processes would have: the UNIQUE index decides."""
    path = tmp_path / "users.sqlite3"
    stores = [UserStore(path, password_hasher=fast_password_hasher()) for _ in range(2)]
    names = ["ace", "асе", "АСЕ", "ᎪᏟᎬ", "Ace", "ａｃｅ"] * 2
    barrier = threading.Barrier(len(names))
    results: list[object] = []

    def sign_up(index: int) -> None:
        barrier.wait()
        try:
            results.append(stores[index % 2].sign_up(names[index], "correct horse battery"))
        except auth.UserExistsError as error:
            results.append(error)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert sum(isinstance(result, auth.User) for result in results) == 1, results
    assert len(results) == len(names)
    assert len(raw_rows(path)) == 1


def test_name_skeleton_is_stored_and_unique_in_the_file(users, tmp_path):
    users.sign_up("РАУРАІ", "correct horse battery")
    with sqlite3.connect(tmp_path / "users.sqlite3") as connection:
        (stored,) = connection.execute("SELECT name_skeleton FROM users").fetchone()
        indexes = connection.execute("PRAGMA index_list(users)").fetchall()
    assert stored == auth.name_skeleton("paypal") == "paypal"
    assert any(name == "users_name_skeleton" and unique for _, name, unique, *_ in indexes)


# -- a database file made before name_skeleton existed -----------------------------------------

# users.py's schema before this column, as earlier versions created it.
OLD_SCHEMA = """
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    REAL    NOT NULL
) STRICT;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
INSERT INTO meta VALUES ('namespace', 'app-0ld0f11e');
"""


def old_database(path, names):
    hasher = fast_password_hasher()
    with sqlite3.connect(path) as connection:
        connection.executescript(OLD_SCHEMA)
        for number, name in enumerate(names, start=1):
            connection.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                (number, name, auth.name_key(name), hasher.hash(f"password of {name}"), number),
            )
    connection.close()


def all_rows(path):
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT id, name, name_key, password_hash, created_at FROM users ORDER BY id"
        ).fetchall()
    connection.close()
    return rows


def test_an_old_database_is_upgraded_in_place_keeping_look_alikes_already_there(tmp_path):
    path = tmp_path / "old.sqlite3"
    # Earlier versions let all of these in: two pairs of look-alikes among them.
    old_database(path, ["ace", "Саша", "асе", "B0B", "BOB", "김민수"])
    before = all_rows(path)
    with UserStore(path, password_hasher=fast_password_hasher()) as store:
        assert all_rows(path) == before  # nothing stored is lost or changed
        assert store.namespace == "app-0ld0f11e"
        for name in ["ace", "асе", "B0B", "BOB", "Саша"]:
            assert store.check_password(name, f"password of {name}").name == name
        # the older of each pair holds the skeleton; the later keeps the account without one
        with sqlite3.connect(path) as connection:
            skeletons = dict(connection.execute("SELECT name, name_skeleton FROM users"))
        assert skeletons["ace"] == "ace" and skeletons["асе"] is None
        assert skeletons["B0B"] == "bob" and skeletons["BOB"] is None
        # new look-alikes are refused, naming the older member; new names sign up
        with pytest.raises(auth.ConfusableNameError, match="existing member's name 'ace'"):
            store.sign_up("ᎪᏟᎬ", "correct horse battery")
        with pytest.raises(auth.ConfusableNameError, match="existing member's name 'B0B'"):
            store.sign_up("ВОВ", "correct horse battery")  # Cyrillic
        assert store.sign_up("Дмитрий", "correct horse battery").id == 7
    # opening it again changes nothing
    with UserStore(path, password_hasher=fast_password_hasher()) as again:
        assert again.count() == 7
        with sqlite3.connect(path) as connection:
            assert dict(connection.execute("SELECT name, name_skeleton FROM users")) == {
                **skeletons,
                "Дмитрий": auth.name_skeleton("Дмитрий"),
            }


def test_two_stores_opening_one_old_file_at_once_both_work(tmp_path):
    path = tmp_path / "old.sqlite3"
    old_database(path, ["ace", "асе"])
    barrier = threading.Barrier(4)
    opened: list[object] = []

    def open_store() -> None:
        barrier.wait()
        try:
            with UserStore(path, password_hasher=fast_password_hasher()) as store:
                opened.append(store.count())
        except Exception as error:  # the assertion below shows it
            opened.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert opened == [2, 2, 2, 2]


def test_a_dropped_skeleton_index_is_rebuilt_on_open(tmp_path):
    path = tmp_path / "users.sqlite3"
    with UserStore(path, password_hasher=fast_password_hasher()) as store:
        store.sign_up("ace", "correct horse battery")
    with sqlite3.connect(path) as connection:
        connection.execute("DROP INDEX users_name_skeleton")
        connection.execute(
            "INSERT INTO users VALUES (2, 'асе', 'асе', 'x', 2, 'ace')"  # a look-alike slipped in
        )
    connection.close()
    with UserStore(path, password_hasher=fast_password_hasher()) as store:
        with pytest.raises(auth.ConfusableNameError):
            store.sign_up("ᎪᏟᎬ", "correct horse battery")
        assert store.count() == 2


# -- no name makes sign-up fail with anything but its documented errors ------------------------

_MAPPED = sorted(chr(codepoint) for codepoint in confusables.prototypes())
look_alike_text = st.text(
    alphabet=st.sampled_from(_MAPPED) | st.sampled_from("aceopxyABCEHOPXY01lI -'"),
    max_size=12,
)
any_text = st.text(alphabet=st.characters(codec=None), max_size=80)  # lone surrogates included


@pytest.fixture(scope="module")
def fuzzed_store():
    with UserStore(":memory:", password_hasher=fast_password_hasher()) as store:
        for name in ["ace", "paypal", "BOB", "bill", "김민수", "Саша"]:
            store.sign_up(name, "correct horse battery")
        yield store


@settings(max_examples=300, deadline=None)
@given(name=any_text | look_alike_text | st.text(min_size=60, max_size=70))
def test_sign_up_raises_only_its_documented_errors(fuzzed_store, name):
    try:
        user = fuzzed_store.sign_up(name, "correct horse battery")
    except auth.ConfusableNameError as refused:
        assert auth.name_skeleton(refused.existing) == auth.name_skeleton(name)
    except (auth.InvalidUserNameError, auth.UserExistsError) as refused:
        assert str(refused)
    else:
        assert fuzzed_store.get(name) == user
