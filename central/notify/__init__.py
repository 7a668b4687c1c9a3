"""Notifications: alarms that reach people (docs/notifications.md).

- ``policy``: the policy file's models (contacts, policies, template overrides);
- ``policyfile``: reading it, every mistake at once as ``path:line: key: message`` (``check_file``);
- ``plan``: which jobs an alarm change creates and cancels: pure, with stable job ids and due times;
- ``message``: the text of one job in the contact's language (Jinja2, sandboxed), and its SMS form;
- ``delivery``: one message to one contact through Apprise, off the event loop, never raising;
- ``retry``: when a failed job is tried again, and when it has failed for good;
- ``outbox``: the plan applied in the alarm change's transaction (the store's one call, ``record_change``);
- ``jobs``, ``store``: the outbox's rows for the worker (claim, record an outcome) and the store methods;
- ``worker``: the task in each central process that delivers the due jobs.
"""
