"""People and organizations: the organization tree, users and their passwords, sessions, login lockout,
and the audit trail. The SQL lives in ``central.store.accounts_sql``; this package decides."""
