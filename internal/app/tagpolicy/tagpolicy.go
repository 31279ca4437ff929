// Package tagpolicy decides which image tags a service follows: the
// pushdeploy:tags value, a comma-separated list of glob patterns ("*"
// matches any run of characters) and semantic-version ranges:
//
//	pushdeploy:tags = latest, release-*, semver:>=1.4.0 <2
//
// A range is "semver:" followed by a constraint of
// github.com/Masterminds/semver/v3: comparators (=, !=, >, >=, <, <=, ~, ^,
// x-ranges like 1.4.x, hyphen ranges like 1.4 - 1.9) joined by spaces (all
// must hold) or "||" (either). A comma ends the range, as it ends every
// entry of the tag.
//
// A tag is a version when it reads X.Y.Z[-pre][+build], with an optional
// leading "v" (v1.4.0). Partial tags ("1.4") are not versions, so a tag like
// "2024" never passes for 2024.0.0.
//
// Pre-releases: a pre-release tag (1.5.0-rc.1) matches a range only if the
// range itself names a pre-release somewhere in its AND group, e.g.
// "semver:>=1.5.0-0 <2" takes 1.5.0-rc.1 and 1.5.0; "semver:>=1.4.0 <2" takes
// 1.5.0 but never 1.5.0-rc.1. Pre-releases sort before their release, so
// once a range takes them "<2" admits 2.0.0-rc.1; write "<2.0.0-0" to stop
// short of 2's pre-releases.
//
// Downgrades: a push whose tag matched through a range is never deployed
// over a higher version (Lower): the running image's own tags say which
// version runs.
package tagpolicy

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
)

// SemverPrefix starts a range entry.
const SemverPrefix = "semver:"

// Policy is a service's tag policy: a tag is followed if any glob or any
// range matches it.
type Policy struct {
	Globs  []string
	Ranges []Range
}

// Range is one semver: entry.
type Range struct {
	// Text is the constraint as written, without the prefix.
	Text string
	c    *semver.Constraints
}

func (r Range) String() string { return SemverPrefix + r.Text }

// Error is an entry the policy cannot use.
type Error struct {
	Entry  string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%q: %s", e.Entry, e.Reason) }

// Image tags: up to 128 of [A-Za-z0-9_.-], first not . or -; patterns add *.
// Compiled at first use: a counted repetition compiles to a program as long
// as its count, which every cold start would otherwise build.
var globPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_*][A-Za-z0-9_.*-]{0,127}$`) })

// Parse reads a comma-separated list of entries, dropping blanks and
// duplicates. A bad entry gives *Error.
func Parse(value string) (Policy, error) {
	var p Policy
	seen := map[string]bool{}
	for _, s := range strings.Split(value, ",") {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		if rest, ok := strings.CutPrefix(s, SemverPrefix); ok {
			r, err := ParseRange(rest)
			if err != nil {
				return Policy{}, err
			}
			p.Ranges = append(p.Ranges, r)
			continue
		}
		if !globPattern().MatchString(s) {
			return Policy{}, &Error{Entry: s, Reason: "not a valid tag pattern"}
		}
		p.Globs = append(p.Globs, s)
	}
	return p, nil
}

// ParseRange reads a constraint (without the semver: prefix).
func ParseRange(text string) (Range, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Range{}, &Error{Entry: SemverPrefix, Reason: "empty range (e.g. semver:>=1.4.0 <2)"}
	}
	c, err := semver.NewConstraint(text)
	if err != nil {
		return Range{}, &Error{Entry: SemverPrefix + text, Reason: "not a semver range: " + err.Error()}
	}
	return Range{Text: text, c: c}, nil
}

// Empty reports whether the policy has no entry.
func (p Policy) Empty() bool { return len(p.Globs) == 0 && len(p.Ranges) == 0 }

// Entries returns the entries as written (globs, then ranges).
func (p Policy) Entries() []string {
	out := append([]string(nil), p.Globs...)
	for _, r := range p.Ranges {
		out = append(out, r.String())
	}
	return out
}

// Matches reports whether the policy follows tag.
func (p Policy) Matches(tag string) bool {
	if tag == "" {
		return false
	}
	for _, g := range p.Globs {
		if Match(g, tag) {
			return true
		}
	}
	return p.MatchesRange(tag)
}

// MatchesRange reports whether tag is a version inside one of the ranges.
func (p Policy) MatchesRange(tag string) bool {
	v, ok := Version(tag)
	if !ok {
		return false
	}
	for _, r := range p.Ranges {
		if r.c.Check(v) {
			return true
		}
	}
	return false
}

// Match reports whether tag matches a glob pattern, where "*" matches any
// run of characters (tags cannot contain the other path.Match
// metacharacters: the pattern syntax forbids them).
func Match(pattern, tag string) bool {
	ok, err := path.Match(pattern, tag)
	return err == nil && ok
}

// Version parses a tag as X.Y.Z[-pre][+build], with an optional leading v.
func Version(tag string) (*semver.Version, bool) {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	if err != nil {
		return nil, false
	}
	return v, true
}

// Highest returns the highest version among tags (the tags of one image),
// ok false if none is a version.
func Highest(tags []string) (*semver.Version, string, bool) {
	var best *semver.Version
	var bestTag string
	for _, t := range tags {
		if v, ok := Version(t); ok && (best == nil || v.GreaterThan(best)) {
			best, bestTag = v, t
		}
	}
	return best, bestTag, best != nil
}

// Lower reports, for a push of tag that the policy follows through a range,
// whether it is a lower version than the one running (the highest version
// among the running image's tags), and why. A tag matched by a glob only,
// or a running image without a version tag, is never lower.
func (p Policy) Lower(tag string, runningTags []string) (string, bool) {
	if !p.MatchesRange(tag) {
		return "", false
	}
	v, _ := Version(tag)
	run, runTag, ok := Highest(runningTags)
	if !ok || !v.LessThan(run) {
		return "", false
	}
	return fmt.Sprintf("lower-version: %s is lower than %s, the version running", tag, runTag), true
}
