"""Gateway keys, identities and the access decision (contract §5, SPEC §1.5, §5).

`tokens` hashes and generates secrets, `identity` is who a key says the caller is, `keyring`
holds the keys a snapshot accepts, `directory` keeps the database's keys fresh for every
replica, and `access` decides a request against the `rbac` data file.
"""
