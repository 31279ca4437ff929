package contract

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Size limits of the execution input, in bytes (UTF-8), each taken from the
// AWS limit of what the field names. They keep every state's payload far
// below Step Functions' 256 KiB, whatever an operator starts the state
// machine with; README's "Operating it" lists them.
const (
	// MaxNameBytes bounds cluster, service and container names (ECS: 255).
	MaxNameBytes = 255
	// MaxImageBytes bounds an image reference: ECS allows 255 characters
	// before an "@sha256:<64 hex>" digest (71 more).
	MaxImageBytes = 255 + 71
	// MaxDigestBytes is "sha256:" and 64 hex digits.
	MaxDigestBytes = 71
	// MaxRevisionBytes bounds a task definition ARN: a family of up to 255
	// characters, the ARN's prefix (up to ~70) and the revision number.
	MaxRevisionBytes = 512
	// MaxContainers is ECS's limit of containers in a task definition.
	MaxContainers = 10
	// MaxReasonBytes bounds the operator's reason, as CloudWatch bounds an
	// alarm's state reason (1023 characters).
	MaxReasonBytes = 1024
	// MaxRequestedByBytes bounds who asked: an IAM ARN is at most 2048.
	MaxRequestedByBytes = 2048
	// MaxInputBytes bounds the whole input, re-encoded: every field at its
	// limit (about 8 KiB) with an alarm or push trigger described fits.
	MaxInputBytes = 16 * 1024
)

// maxQuoted bounds how much of an input value an error message quotes, and
// maxMessage a message built from one: errors are stored in the state
// document and the history record.
const (
	maxQuoted  = 64
	maxMessage = 256
)

// CheckLimits returns a BadInput naming the first field over its size limit
// and the limit; it never quotes the value.
func (in ExecutionInput) CheckLimits() error {
	fields := []struct {
		name  string
		value string
		limit int
	}{
		{"action", string(in.Action), maxQuoted},
		{"cluster", in.Cluster, MaxNameBytes},
		{"service", in.Service, MaxNameBytes},
		{"image", in.Image, MaxImageBytes},
		{"digest", in.Digest, MaxDigestBytes},
		{"revision", in.Revision, MaxRevisionBytes},
		{"reason", in.Reason, MaxReasonBytes},
		{"requestedBy", in.RequestedBy, MaxRequestedByBytes},
		{"trigger", string(in.Trigger), maxQuoted},
	}
	if pr := in.Promotion; pr != nil {
		fields = append(fields, []struct {
			name  string
			value string
			limit int
		}{
			{"promotion.from", pr.From, 2*MaxNameBytes + 1},
			{"promotion.execution", pr.Execution, MaxRevisionBytes},
			{"promotion.tag", pr.Tag, maxQuoted * 2},
		}...)
	}
	for _, f := range fields {
		if len(f.value) > f.limit {
			return tooLong(f.name, len(f.value), f.limit)
		}
	}
	if n := len(in.Containers); n > MaxContainers {
		return &BadInput{Field: "containers", Reason: fmt.Sprintf("%d containers; the limit is %d (ECS's per task definition)", n, MaxContainers)}
	}
	for i, c := range in.Containers {
		if len(c) > MaxNameBytes {
			return tooLong(fmt.Sprintf("containers[%d]", i), len(c), MaxNameBytes)
		}
	}
	data, err := json.Marshal(in)
	if err != nil {
		return &BadInput{Field: "input", Reason: "cannot be encoded: " + clip(err.Error(), maxMessage)}
	}
	if len(data) > MaxInputBytes {
		return tooLong("input", len(data), MaxInputBytes)
	}
	return nil
}

func tooLong(field string, n, limit int) error {
	return &BadInput{Field: field, Reason: fmt.Sprintf("%d bytes; the limit is %d", n, limit)}
}

// clip returns s, or its first n bytes (cut on a rune boundary) and how
// long it was.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}

// Clip is clip for other packages: a value of an input read leniently,
// bounded before it is stored.
func Clip(s string, n int) string { return clip(s, n) }
