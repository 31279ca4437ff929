package tagpolicy

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		value   string
		entries []string
		bad     string // the entry named by the error
	}{
		{value: "latest", entries: []string{"latest"}},
		{value: " v*, release-* ,,v*", entries: []string{"v*", "release-*"}},
		{value: "latest, semver:>=1.4.0 <2", entries: []string{"latest", "semver:>=1.4.0 <2"}},
		{value: "semver:^1.4 || ~2.0.1", entries: []string{"semver:^1.4 || ~2.0.1"}},
		{value: "semver:1.4 - 1.9", entries: []string{"semver:1.4 - 1.9"}},
		{value: "semver:", bad: "semver:"},
		{value: "semver:>=banana", bad: "semver:>=banana"},
		{value: "latest,bad tag", bad: "bad tag"},
		{value: "-x", bad: "-x"},
	} {
		p, err := Parse(tc.value)
		if tc.bad != "" {
			var e *Error
			if !errors.As(err, &e) || e.Entry != tc.bad {
				t.Errorf("Parse(%q) = %v, want *Error naming %q", tc.value, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.value, err)
			continue
		}
		if diff := cmp.Diff(tc.entries, p.Entries()); diff != "" {
			t.Errorf("Parse(%q) entries (-want +got):\n%s", tc.value, diff)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		policy string
		yes    []string
		no     []string
	}{
		{policy: "latest, v*", yes: []string{"latest", "v1", "v1.2.3"}, no: []string{"", "main", "1.2.3"}},
		{policy: "semver:>=1.4.0 <2",
			yes: []string{"1.4.0", "v1.4.0", "1.9.99", "1.5.0+build.7"},
			no:  []string{"1.3.9", "2.0.0", "1.5.0-rc.1", "1.4", "latest", "2024", "v", "01.4.0"}},
		{policy: "semver:>=1.5.0-0 <2", // names a pre-release: takes them
			yes: []string{"1.5.0-rc.1", "1.5.0", "1.6.0-beta", "2.0.0-rc.1"}, // 2.0.0-rc.1 < 2.0.0
			no:  []string{"1.4.9", "2.0.0"}},
		{policy: "semver:>=1.5.0-0 <2.0.0-0", yes: []string{"1.9.0-rc.1"}, no: []string{"2.0.0-rc.1"}},
		{policy: "semver:~1.4", yes: []string{"1.4.0", "1.4.7"}, no: []string{"1.5.0", "1.4.8-rc.1"}},
		{policy: "semver:^2 || 1.2.x", yes: []string{"2.3.4", "1.2.9"}, no: []string{"3.0.0", "1.3.0"}},
		{policy: "release-*, semver:>=3", yes: []string{"release-1", "3.0.0"}, no: []string{"2.9.9", "release"}},
	} {
		p, err := Parse(tc.policy)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.policy, err)
		}
		for _, tag := range tc.yes {
			if !p.Matches(tag) {
				t.Errorf("%q does not match %q, want it to", tc.policy, tag)
			}
		}
		for _, tag := range tc.no {
			if p.Matches(tag) {
				t.Errorf("%q matches %q, want it not to", tc.policy, tag)
			}
		}
	}
}

func TestLower(t *testing.T) {
	for _, tc := range []struct {
		policy  string
		tag     string
		running []string
		lower   bool
		reason  string
	}{
		{policy: "semver:>=1 <2", tag: "1.4.0", running: []string{"1.5.0"}, lower: true,
			reason: "lower-version: 1.4.0 is lower than 1.5.0, the version running"},
		{policy: "semver:>=1 <2", tag: "1.6.0", running: []string{"1.5.0"}},
		{policy: "semver:>=1 <2", tag: "1.5.0", running: []string{"1.5.0"}},                     // same version, new digest: deployed
		{policy: "semver:>=1 <2", tag: "1.5.1", running: []string{"latest", "v1.5.0", "1.2.0"}}, // highest of the image's tags
		{policy: "semver:>=1 <2", tag: "1.5.1", running: []string{"1.6.0", "latest"}, lower: true,
			reason: "lower-version: 1.5.1 is lower than 1.6.0, the version running"},
		{policy: "semver:>=1 <2", tag: "1.5.1", running: []string{"latest"}}, // running has no version
		{policy: "semver:>=1 <2", tag: "1.5.1", running: nil},
		{policy: "semver:>=1.0.0-0 <2", tag: "1.5.0-rc.1", running: []string{"1.5.0"}, lower: true,
			reason: "lower-version: 1.5.0-rc.1 is lower than 1.5.0, the version running"},
		{policy: "latest, semver:>=1 <2", tag: "latest", running: []string{"1.5.0"}}, // a glob match is never compared
		{policy: "semver:>=1 <2", tag: "1.4.0", running: []string{"9.0.0"}, lower: true,
			reason: "lower-version: 1.4.0 is lower than 9.0.0, the version running"}, // running outside the range still counts
	} {
		p, err := Parse(tc.policy)
		if err != nil {
			t.Fatal(err)
		}
		reason, lower := p.Lower(tc.tag, tc.running)
		if lower != tc.lower || reason != tc.reason {
			t.Errorf("%q: Lower(%q, %v) = %q, %v; want %q, %v", tc.policy, tc.tag, tc.running, reason, lower, tc.reason, tc.lower)
		}
	}
}
