package handler

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// maxExecutionName is Step Functions' limit on execution names.
const maxExecutionName = 80

// DeployName is the execution name of deploying digest to a service: the
// same service and digest always give the same name, so a duplicated ECR
// event starts nothing new. It is at most 80 characters of [A-Za-z0-9_-]:
// "deploy-<service name>-<16 hex of sha256(service ARN, digest)>".
func DeployName(serviceARN, digest string) string {
	sum := sha256.Sum256([]byte(serviceARN + "\x00" + digest))
	label := serviceARN[strings.LastIndex(serviceARN, "/")+1:]
	label = strings.Trim(unsafeName.ReplaceAllString(label, "-"), "-")
	const prefix = "deploy-"
	room := maxExecutionName - len(prefix) - 1 - 16
	if len(label) > room {
		label = label[:room]
	}
	if label == "" {
		label = "service"
	}
	return prefix + label + "-" + hex.EncodeToString(sum[:8])
}
