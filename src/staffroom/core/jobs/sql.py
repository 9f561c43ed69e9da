"""The job engine's statements for one job table, written once when first used. Only
table and column names and a queue's constant conditions are pasted in; every value is a
`{}` placeholder."""

from __future__ import annotations


def statements(
    t: str,
    *,
    open_: str,
    given_up: str,
    done: str,
    give_up: str,
    reopen: str,
    retry: list[str],
    given_up_at: str,
    done_at: str | None,
    claim_returns: str,
) -> dict[str, str]:
    """Every statement the engine runs on table `t`, by name."""
    also_on_retry = "".join(f", {column} = {{}}" for column in retry)
    return {
        "due": f"SELECT id FROM {t} WHERE ({open_}) AND next_attempt_at <= {{}}"
        " ORDER BY next_attempt_at LIMIT {}",
        # Takes a due job for one try, counted, and holds it for a lease.
        "claim": f"UPDATE {t} SET attempts = attempts + 1, next_attempt_at = {{}}"
        f" WHERE id = {{}} AND ({open_}) AND next_attempt_at <= {{}} RETURNING {claim_returns}",
        "done": f"UPDATE {t} SET {done} WHERE id = {{}}",
        "retry": f"UPDATE {t} SET next_attempt_at = {{}}, last_error = {{}}{also_on_retry}"
        " WHERE id = {}",
        "give_up": f"UPDATE {t} SET {give_up}, last_error = {{}} WHERE id = {{}}",
        "requeue": f"UPDATE {t} SET {reopen}, attempts = 0, next_attempt_at = {{}},"
        f" last_error = '' WHERE ({given_up}) AND {given_up_at} >= {{}} RETURNING id",
        "expire": f"UPDATE {t} SET {give_up}, last_error = {{}} WHERE ({open_})"
        " AND created_at < {} RETURNING id",
        "purge_done": f"DELETE FROM {t} WHERE {done_at} < {{}}" if done_at else "",
        "purge_given_up": f"DELETE FROM {t} WHERE ({given_up}) AND {given_up_at} < {{}}",
        "count_open": f"SELECT COUNT(*) AS n FROM {t} WHERE ({open_})",
        "count_given_up": f"SELECT COUNT(*) AS n FROM {t} WHERE ({given_up})",
    }
