package ledger

// Baked returns the revision of the service that carries digest and passed
// its rollout and bake there (good, by a deploy), ok false if none: what a
// service that follows this one (pushdeploy:after) waits for. A revision
// rolled back from since, or a quarantined digest, is not baked.
func (l Ledger) Baked(digest string) (Revision, bool) {
	if digest == "" {
		return Revision{}, false
	}
	if _, q := l.Quarantine(digest); q {
		return Revision{}, false
	}
	for _, r := range l.Revisions {
		if r.Digest == digest && r.Status == StatusGood && r.Via == ViaDeploy {
			return r, true
		}
	}
	return Revision{}, false
}
