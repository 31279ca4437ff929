package handler

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"sync"
)

// Compiled at first use: package init runs at every cold start.
var unsafeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9_-]+`) })

// maxExecutionName is Step Functions' limit on execution names.
const maxExecutionName = 80

// PushName is the execution name of deploying one ECR push (its event id)
// of digest to a service. A redelivered event has the same id, so it gets
// the same name and starts nothing new; a new push of the same digest (a
// revert by retag) has a new id and deploys. Step Functions keeps names for
// 90 days, so a name of (service, digest) alone would refuse the revert. At
// most 80 characters of [A-Za-z0-9_-]:
// "push-<service name>-<32 hex of sha256(service ARN, digest, event id)>".
func PushName(serviceARN, digest, eventID string) string {
	return name("push-", serviceARN, serviceARN+"\x00"+digest+"\x00"+eventID)
}

// PromotionName is the execution name of a follower's deploy of digest
// started by the leader's execution that SUCCEEDED with it: a retried
// finish of that execution gets the same name and starts nothing new.
// "promote-<service name>-<32 hex of sha256(service ARN, digest, leader execution)>".
func PromotionName(serviceARN, digest, leaderExecution string) string {
	return name("promote-", serviceARN, serviceARN+"\x00"+digest+"\x00"+leaderExecution)
}

// name is prefix, the service's name (made safe, cut to fit) and 128 bits of
// the sha256 of identity.
func name(prefix, serviceARN, identity string) string {
	sum := sha256.Sum256([]byte(identity))
	label := serviceARN[strings.LastIndex(serviceARN, "/")+1:]
	label = strings.Trim(unsafeName().ReplaceAllString(label, "-"), "-")
	room := maxExecutionName - len(prefix) - 1 - 32
	if len(label) > room {
		label = label[:room]
	}
	if label == "" {
		label = "service"
	}
	return prefix + label + "-" + hex.EncodeToString(sum[:16])
}
