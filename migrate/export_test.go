package migrate

// ResolveOptions returns o as New resolves it, every zero value replaced
// by its default, or New's error. For the external tests that compare the
// configuration file's defaults with Options{}'s.
func ResolveOptions(o Options) (Options, error) {
	err := o.setDefaults()
	return o, err
}
