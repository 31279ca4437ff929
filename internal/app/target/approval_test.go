package target

import (
	"errors"
	"testing"
	"time"
)

func TestParseApproval(t *testing.T) {
	base := map[string]string{TagRepository: "web"}
	for _, tc := range []struct {
		name    string
		tags    map[string]string
		want    time.Duration
		wantKey string // the ConfigError's key, "" for none
	}{
		{"absent", nil, 0, ""},
		{"none", map[string]string{TagApproval: "none"}, 0, ""},
		{"required, default timeout", map[string]string{TagApproval: "required"}, DefaultApprovalTimeout, ""},
		{"required, own timeout", map[string]string{TagApproval: " required ", TagApprovalTimeout: "30m"}, 30 * time.Minute, ""},
		{"unknown value", map[string]string{TagApproval: "yes"}, 0, TagApproval},
		{"empty value", map[string]string{TagApproval: ""}, 0, TagApproval},
		{"timeout alone", map[string]string{TagApprovalTimeout: "1h"}, 0, TagApprovalTimeout},
		{"timeout not a duration", map[string]string{TagApproval: "required", TagApprovalTimeout: "soon"}, 0, TagApprovalTimeout},
		{"timeout zero", map[string]string{TagApproval: "required", TagApprovalTimeout: "0s"}, 0, TagApprovalTimeout},
		{"timeout too long", map[string]string{TagApproval: "required", TagApprovalTimeout: "200h"}, 0, TagApprovalTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tags := map[string]string{}
			for k, v := range base {
				tags[k] = v
			}
			for k, v := range tc.tags {
				tags[k] = v
			}
			c, err := Parse("svc", tags, Defaults{Timeout: time.Minute})
			var ce *ConfigError
			switch {
			case tc.wantKey != "":
				if !errors.As(err, &ce) || ce.Key != tc.wantKey {
					t.Fatalf("err = %v, want a ConfigError on %s", err, tc.wantKey)
				}
			case err != nil:
				t.Fatal(err)
			case c.ApprovalTimeout != tc.want:
				t.Fatalf("ApprovalTimeout = %v, want %v", c.ApprovalTimeout, tc.want)
			}
		})
	}
}
