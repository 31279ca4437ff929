// Package target reads which ECS services follow which ECR repository. The
// configuration lives on each service as tags, so teams opt in without
// redeploying pushdeploy:
//
//	pushdeploy:repository       ECR repository name (required)
//	pushdeploy:tags             comma-separated image tag patterns, * wildcards, and
//	                            semver:<range> entries (package tagpolicy) (default "latest")
//	pushdeploy:containers       comma-separated container names to update (default: every
//	                            container whose image is from the repository)
//	pushdeploy:alarms           comma-separated CloudWatch alarm names
//	pushdeploy:bake             bake duration after the rollout, e.g. 5m (default from Defaults)
//	pushdeploy:timeout          rollout timeout, e.g. 30m (default from Defaults)
//	pushdeploy:rollback-window  how long after the bake an alarm still rolls back (default from Defaults)
//	pushdeploy:after            <cluster>/<service>: a push deploys only a digest that passed its
//	                            bake there first (promotion)
//	pushdeploy:approval         "required": a push or promotion deploy waits for pushdeploy approve
//	pushdeploy:approval-timeout how long that wait lasts before the deploy is SKIPPED (default 24h)
//
// An alarm can also name its services itself, with a tag on the alarm:
//
//	pushdeploy:service          comma-separated service ARNs or cluster/service names
//
// Such alarms are added to the Alarms of every opted-in service they name.
package target

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/tagpolicy"
)

// Tag keys of the service configuration.
const (
	TagRepository      = "pushdeploy:repository"
	TagTags            = "pushdeploy:tags"
	TagContainers      = "pushdeploy:containers"
	TagAlarms          = "pushdeploy:alarms"
	TagBake            = "pushdeploy:bake"
	TagTimeout         = "pushdeploy:timeout"
	TagRollbackWindow  = "pushdeploy:rollback-window"
	TagAfter           = "pushdeploy:after"
	TagApproval        = "pushdeploy:approval"
	TagApprovalTimeout = "pushdeploy:approval-timeout"
	// TagService goes on CloudWatch alarms, not on services.
	TagService = "pushdeploy:service"
)

// DefaultTagPattern is used when pushdeploy:tags is absent.
const DefaultTagPattern = "latest"

// Limits on durations, so a typo ("5h" for "5m") is caught, not waited out.
const (
	MaxBake           = 24 * time.Hour
	MaxTimeout        = 24 * time.Hour
	MaxRollbackWindow = 7 * 24 * time.Hour
	// MaxApprovalTimeout bounds an approval wait (and the lease held
	// through it); DefaultApprovalTimeout is a day, time to be seen.
	MaxApprovalTimeout     = 7 * 24 * time.Hour
	DefaultApprovalTimeout = 24 * time.Hour
)

// Defaults fill in durations a service does not set.
type Defaults struct {
	Bake           time.Duration
	Timeout        time.Duration
	RollbackWindow time.Duration
}

// Config is one service's pushdeploy configuration.
type Config struct {
	Repository string
	// TagPatterns match image tags; "*" matches any run of characters;
	// "semver:<range>" entries match versions (package tagpolicy).
	TagPatterns []string
	// Containers to update; empty means every container whose image is from
	// Repository.
	Containers     []string
	Alarms         []string
	Bake           time.Duration
	Timeout        time.Duration
	RollbackWindow time.Duration
	// After is the service (cluster/service) a digest must pass its bake
	// on before a push deploys it here; "" for none.
	After string
	// ApprovalTimeout > 0: automatic deploys (push, promotion) wait this
	// long for pushdeploy approve before anything changes
	// (pushdeploy:approval=required).
	ApprovalTimeout time.Duration
}

// ConfigError is a service tag pushdeploy cannot use. The service is skipped
// with this as the reason.
type ConfigError struct {
	Key    string
	Value  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("tag %s=%q: %s", e.Key, e.Value, e.Reason)
}

// NotOptedInError: the service has no pushdeploy:repository tag.
type NotOptedInError struct{ Service string }

func (e *NotOptedInError) Error() string {
	return fmt.Sprintf("service %s has no %s tag", e.Service, TagRepository)
}

// ECR repository names: lowercase, digits, separators . _ - and / for
// namespaces (2-256 chars). Compiled at first use, as containerName.
var repoName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
})

// Container names: up to 255 letters, digits, hyphens and underscores.
var containerName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`) })

// Parse reads the configuration from a service's tags. A service without
// pushdeploy:repository gives *NotOptedInError; a tag with a bad value gives
// *ConfigError naming it.
func Parse(service string, tags map[string]string, d Defaults) (Config, error) {
	repo, ok := tags[TagRepository]
	if !ok {
		return Config{}, &NotOptedInError{Service: service}
	}
	repo = strings.TrimSpace(repo)
	if len(repo) < 2 || len(repo) > 256 || !repoName().MatchString(repo) {
		return Config{}, &ConfigError{Key: TagRepository, Value: repo, Reason: "not a valid ECR repository name"}
	}
	if strings.Contains(repo, ".amazonaws.com/") {
		// A valid name in form, but a push's event names the repository.
		return Config{}, &ConfigError{Key: TagRepository, Value: repo, Reason: "give the repository's name, not its URI"}
	}
	c := Config{Repository: repo, Bake: d.Bake, Timeout: d.Timeout, RollbackWindow: d.RollbackWindow}

	var err error
	tv, set := tags[TagTags]
	if !set {
		tv = DefaultTagPattern
	}
	pol, err := tagpolicy.Parse(tv)
	if err != nil {
		return Config{}, &ConfigError{Key: TagTags, Value: tv, Reason: err.Error()}
	}
	if pol.Empty() {
		return Config{}, &ConfigError{Key: TagTags, Value: tv, Reason: "no tag pattern"}
	}
	c.TagPatterns = pol.Entries()
	if c.Containers, err = list(tags, TagContainers, containerName(), "not a valid container name"); err != nil {
		return Config{}, err
	}
	if c.Alarms, err = list(tags, TagAlarms, nil, ""); err != nil {
		return Config{}, err
	}
	if v, set := tags[TagAfter]; set {
		c.After = strings.TrimSpace(v)
		cl, svc, ok := strings.Cut(c.After, "/")
		if !ok || cl == "" || svc == "" || strings.Contains(svc, "/") {
			return Config{}, &ConfigError{Key: TagAfter, Value: v, Reason: "want <cluster>/<service>"}
		}
	}
	if err := parseApproval(tags, &c); err != nil {
		return Config{}, err
	}
	for _, dur := range []struct {
		key string
		dst *time.Duration
		max time.Duration
		pos bool // must be > 0
	}{
		{TagBake, &c.Bake, MaxBake, false},
		{TagTimeout, &c.Timeout, MaxTimeout, true},
		{TagRollbackWindow, &c.RollbackWindow, MaxRollbackWindow, false},
	} {
		v, set := tags[dur.key]
		if !set {
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		switch {
		case err != nil:
			return Config{}, &ConfigError{Key: dur.key, Value: v, Reason: "not a duration (e.g. 90s, 5m, 1h30m)"}
		case d < 0, dur.pos && d == 0:
			return Config{}, &ConfigError{Key: dur.key, Value: v, Reason: "must be positive"}
		case d > dur.max:
			return Config{}, &ConfigError{Key: dur.key, Value: v, Reason: "longer than " + dur.max.String()}
		}
		*dur.dst = d
	}
	return c, nil
}

// list splits a comma-separated tag value, dropping blanks and duplicates.
func list(tags map[string]string, key string, valid *regexp.Regexp, why string) ([]string, error) {
	v, ok := tags[key]
	if !ok {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		if valid != nil && !valid.MatchString(s) {
			return nil, &ConfigError{Key: key, Value: v, Reason: fmt.Sprintf("%q: %s", s, why)}
		}
		seen[s] = true
		out = append(out, s)
	}
	return out, nil
}

// MatchesTag reports whether an image tag matches one of the patterns.
func (c Config) MatchesTag(tag string) bool {
	return c.TagPolicy().Matches(tag)
}

// TagPolicy returns TagPatterns parsed (an entry that does not parse, in a
// Config not made by Parse, matches nothing).
func (c Config) TagPolicy() tagpolicy.Policy {
	var p tagpolicy.Policy
	for _, e := range c.TagPatterns {
		if q, err := tagpolicy.Parse(e); err == nil {
			p.Globs = append(p.Globs, q.Globs...)
			p.Ranges = append(p.Ranges, q.Ranges...)
		}
	}
	return p
}

// HasAlarm reports whether the service lists the alarm.
func (c Config) HasAlarm(name string) bool {
	for _, a := range c.Alarms {
		if a == name {
			return true
		}
	}
	return false
}

// Match reports whether tag matches pattern, where "*" matches any run of
// characters (tags cannot contain the other path.Match metacharacters: the
// pattern syntax forbids them, so path.Match sees only literals and *).
func Match(pattern, tag string) bool { return tagpolicy.Match(pattern, tag) }

// parseApproval reads pushdeploy:approval and pushdeploy:approval-timeout.
// A timeout without approval=required is a mistake worth naming.
func parseApproval(tags map[string]string, c *Config) error {
	v, set := tags[TagApproval]
	tv, tset := tags[TagApprovalTimeout]
	switch strings.TrimSpace(v) {
	case "required":
	case "", "none":
		if tset {
			return &ConfigError{Key: TagApprovalTimeout, Value: tv, Reason: "set " + TagApproval + "=required too"}
		}
		if set && strings.TrimSpace(v) == "" {
			return &ConfigError{Key: TagApproval, Value: v, Reason: `want "required" or "none"`}
		}
		return nil
	default:
		return &ConfigError{Key: TagApproval, Value: v, Reason: `want "required" or "none"`}
	}
	c.ApprovalTimeout = DefaultApprovalTimeout
	if !tset {
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(tv))
	switch {
	case err != nil:
		return &ConfigError{Key: TagApprovalTimeout, Value: tv, Reason: "not a duration (e.g. 30m, 4h)"}
	case d <= 0:
		return &ConfigError{Key: TagApprovalTimeout, Value: tv, Reason: "must be positive"}
	case d > MaxApprovalTimeout:
		return &ConfigError{Key: TagApprovalTimeout, Value: tv, Reason: "longer than " + MaxApprovalTimeout.String()}
	}
	c.ApprovalTimeout = d
	return nil
}
