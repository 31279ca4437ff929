package main

import (
	"errors"
	"regexp"
	"strings"

	"github.com/aws/smithy-go"
)

// errorLine is how every command reports a failure: one line,
// "pushdeploy: <what failed>: <why>", with an SDK error reduced to what an
// operator needs (see errorText).
func errorLine(what string, err error) string {
	msg := errorText(err)
	if what == "" || strings.HasPrefix(msg, what+": ") {
		return "pushdeploy: " + msg
	}
	return "pushdeploy: " + what + ": " + msg
}

// SDK noise: the HTTP status, the request id, the retryer's wording.
var (
	sdkResponse = regexp.MustCompile(`https response error StatusCode: \d*, RequestID: [^,]*, `)
	sdkSend     = regexp.MustCompile(`request send failed, `)
	sdkAttempts = regexp.MustCompile(`^exceeded maximum number of attempts, (\d+), (.*)$`)
)

// errorText is err's message on one line, each aws-sdk-go-v2 operation error
// in it ("operation error ECS: UpdateService, https response error
// StatusCode: 400, RequestID: ..., api error ClientException: msg") reduced
// to "ClientException: msg", or for a request that got no answer to its
// cause ("Post \"http://...\": dial tcp ...: connection refused (4 attempts)").
func errorText(err error) string {
	msg := err.Error()
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		msg = strings.Replace(msg, oe.Error(), operationText(oe), 1)
	}
	return strings.Join(strings.Fields(msg), " ")
}

func operationText(oe *smithy.OperationError) string {
	var api smithy.APIError
	if errors.As(oe, &api) {
		code, m := api.ErrorCode(), strings.TrimSpace(api.ErrorMessage())
		switch {
		case m == "":
			return code
		case strings.HasPrefix(m, code):
			return m
		}
		return code + ": " + m
	}
	if oe.Err == nil {
		return oe.Service() + " " + oe.Operation() + " failed"
	}
	m := sdkSend.ReplaceAllString(sdkResponse.ReplaceAllString(oe.Err.Error(), ""), "")
	if s := sdkAttempts.FindStringSubmatch(m); s != nil {
		m = s[2] + " (" + s[1] + " attempts)"
	}
	return oe.Service() + " " + oe.Operation() + ": " + m
}
