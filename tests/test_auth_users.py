"""Members in a real SQLite file: parameterized SQL, argon2id, the NFKC + casefold rule."""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata

import pytest
from argon2 import PasswordHasher

from jwtlab import auth
from jwtlab.auth import UserStore, fast_password_hasher


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
