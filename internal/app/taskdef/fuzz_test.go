package taskdef

import "testing"

// FuzzParseImage: whatever parses prints back to a reference that parses
// to the same parts.
func FuzzParseImage(f *testing.F) {
	for _, s := range []string{reg + "/web:v1", reg + "/a/b@" + dgst, "nginx", "localhost:5000/x:y", "ghcr.io/o/r:t@" + dgst, "a:b:c", "/x", "x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		img, err := ParseImage(s)
		if err != nil {
			return
		}
		again, err := ParseImage(img.String())
		if err != nil {
			t.Fatalf("%q parsed to %+v, whose String %q does not parse: %v", s, img, img.String(), err)
		}
		if again != img {
			t.Fatalf("%q: %+v then %+v", s, img, again)
		}
	})
}

// FuzzParseRevision: a parsed revision prints as family:N and parses back.
func FuzzParseRevision(f *testing.F) {
	for _, s := range []string{"web:1", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7", "web:0", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRevision(s)
		if err != nil {
			return
		}
		again, err := ParseRevision(r.String())
		if err != nil || again != r {
			t.Fatalf("%q: %+v then %+v, %v", s, r, again, err)
		}
	})
}
