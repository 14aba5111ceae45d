"""server.status: which unexpected exceptions are the caller's or the infrastructure's, and which stay INTERNAL."""

from __future__ import annotations

import errno

import sqlalchemy.exc

from meshsmith.errors import InvalidInput, NotFound
from server.status import known_error


def _db_error(cls):
    return cls("INSERT INTO api_keys ...", {}, Exception("driver says no"))


def test_database_value_errors_are_the_callers():
    err = known_error(_db_error(sqlalchemy.exc.DataError))
    assert err.status == "INVALID_ARGUMENT" and "too long" in err.message and "INSERT" not in err.message


def test_database_outages_are_unavailable():
    for cls in (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError):
        err = known_error(_db_error(cls))
        assert err.status == "UNAVAILABLE" and "retry" in err.message
    # every pooled connection busy: the server is saturated, not down
    assert known_error(sqlalchemy.exc.TimeoutError("QueuePool limit reached")).status == "RESOURCE_EXHAUSTED"


def test_a_full_disk_is_resource_exhausted_with_a_retry_hint():
    err = known_error(OSError(errno.ENOSPC, "No space left on device"))
    assert err.status == "RESOURCE_EXHAUSTED" and err.retry_after_s and "disk is full" in err.message


def test_domain_errors_pass_and_bugs_stay_internal():
    e = NotFound("no asset")
    assert known_error(e) is e and isinstance(known_error(InvalidInput("x")), InvalidInput)
    for bug in (ValueError("x"), KeyError("k"), OverflowError(), OSError(errno.EACCES, "denied"),
                sqlalchemy.exc.IntegrityError("x", {}, Exception()), sqlalchemy.exc.ProgrammingError("x", {}, Exception())):
        assert known_error(bug) is None, bug
