package redact

// saltIDMessage is what SaltID hashes: a fixed text, so the result depends
// on the salt alone.
const saltIDMessage = "sessionmigrate: salt id"

// SaltID returns a printable stand-in for a bucketing salt, in the form of
// [ID] (the keyed hash of a fixed text, keyed with the salt): instances put
// it in their heartbeats so that `migratectl preflight` can tell whether
// they agree on the salt, which routing needs, without the salt itself
// leaving the instance.
func SaltID(salt string) string { return ID(salt, saltIDMessage) }
