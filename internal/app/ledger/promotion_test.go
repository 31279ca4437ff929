package ledger

import "testing"

func TestBaked(t *testing.T) {
	l := Ledger{
		Revisions: []Revision{
			{Revision: r1, Digest: dA, Status: StatusGood, Via: ViaBefore},
			{Revision: r2, Digest: dB, Status: StatusGood, Via: ViaDeploy},
			{Revision: r3, Digest: dC, Status: StatusBad},
		},
		Quarantined: []Quarantine{{Digest: dC}},
	}
	for _, tc := range []struct {
		digest string
		want   string
	}{
		{dB, r2},                 // deployed and baked
		{dA, ""},                 // ran before pushdeploy: never baked by a deploy
		{dC, ""},                 // rolled back from, quarantined
		{"sha256:" + "dddd", ""}, // never deployed
		{"", ""},
	} {
		r, ok := l.Baked(tc.digest)
		if ok != (tc.want != "") || r.Revision != tc.want {
			t.Errorf("Baked(%q) = %q, %v; want %q", tc.digest, r.Revision, ok, tc.want)
		}
	}
}
