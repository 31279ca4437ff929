package target

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var defaults = Defaults{Bake: 5 * time.Minute, Timeout: 30 * time.Minute, RollbackWindow: time.Hour}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		tags   map[string]string
		want   Config
		errKey string // *ConfigError on this key
		notOpt bool
	}{
		{name: "not opted in", tags: map[string]string{"team": "a"}, notOpt: true},
		{name: "defaults", tags: map[string]string{TagRepository: "web"},
			want: Config{Repository: "web", TagPatterns: []string{"latest"}, Bake: 5 * time.Minute, Timeout: 30 * time.Minute, RollbackWindow: time.Hour}},
		{name: "everything", tags: map[string]string{
			TagRepository: " team/web ", TagTags: "v*, release-*,,v*", TagContainers: "app, worker",
			TagAlarms: "web-5xx,web latency", TagBake: "90s", TagTimeout: "1h", TagRollbackWindow: "0s"},
			want: Config{Repository: "team/web", TagPatterns: []string{"v*", "release-*"}, Containers: []string{"app", "worker"},
				Alarms: []string{"web-5xx", "web latency"}, Bake: 90 * time.Second, Timeout: time.Hour}},
		{name: "bake zero is allowed", tags: map[string]string{TagRepository: "web", TagBake: "0"},
			want: Config{Repository: "web", TagPatterns: []string{"latest"}, Timeout: 30 * time.Minute, RollbackWindow: time.Hour}},
		{name: "bad repository", tags: map[string]string{TagRepository: "Web"}, errKey: TagRepository},
		{name: "empty repository", tags: map[string]string{TagRepository: ""}, errKey: TagRepository},
		{name: "empty tag list", tags: map[string]string{TagRepository: "web", TagTags: " , "}, errKey: TagTags},
		{name: "semver range", tags: map[string]string{TagRepository: "web", TagTags: "latest, semver:>=1.4.0 <2"},
			want: Config{Repository: "web", TagPatterns: []string{"latest", "semver:>=1.4.0 <2"}, Bake: 5 * time.Minute, Timeout: 30 * time.Minute, RollbackWindow: time.Hour}},
		{name: "after", tags: map[string]string{TagRepository: "web", TagAfter: " staging/web "},
			want: Config{Repository: "web", TagPatterns: []string{"latest"}, After: "staging/web", Bake: 5 * time.Minute, Timeout: 30 * time.Minute, RollbackWindow: time.Hour}},
		{name: "bad after", tags: map[string]string{TagRepository: "web", TagAfter: "web"}, errKey: TagAfter},
		{name: "bad semver range", tags: map[string]string{TagRepository: "web", TagTags: "semver:>=one"}, errKey: TagTags},
		{name: "bad tag pattern", tags: map[string]string{TagRepository: "web", TagTags: "v1/x"}, errKey: TagTags},
		{name: "bad container", tags: map[string]string{TagRepository: "web", TagContainers: "app,we b"}, errKey: TagContainers},
		{name: "bad bake", tags: map[string]string{TagRepository: "web", TagBake: "5 minutes"}, errKey: TagBake},
		{name: "negative bake", tags: map[string]string{TagRepository: "web", TagBake: "-1m"}, errKey: TagBake},
		{name: "zero timeout", tags: map[string]string{TagRepository: "web", TagTimeout: "0s"}, errKey: TagTimeout},
		{name: "huge timeout", tags: map[string]string{TagRepository: "web", TagTimeout: "48h"}, errKey: TagTimeout},
		{name: "huge window", tags: map[string]string{TagRepository: "web", TagRollbackWindow: "200h"}, errKey: TagRollbackWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("svc", tt.tags, defaults)
			switch {
			case tt.notOpt:
				var e *NotOptedInError
				if !errors.As(err, &e) {
					t.Fatalf("err = %v, want *NotOptedInError", err)
				}
			case tt.errKey != "":
				var e *ConfigError
				if !errors.As(err, &e) || e.Key != tt.errKey {
					t.Fatalf("err = %v, want *ConfigError on %s", err, tt.errKey)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("(-want +got)\n%s", diff)
				}
			}
		})
	}
}

func TestMatchesTag(t *testing.T) {
	c := Config{TagPatterns: []string{"latest", "v*", "*-rc", "release-*-final"}}
	tests := map[string]bool{
		"latest": true, "v1.2.3": true, "v": true, "1.0-rc": true, "release-7-final": true,
		"latest2": false, "dev": false, "": false, "release-7": false, "x-rc1": false,
	}
	for tag, want := range tests {
		if got := c.MatchesTag(tag); got != want {
			t.Errorf("MatchesTag(%q) = %v, want %v", tag, got, want)
		}
	}
}
