package awsproto

import (
	"encoding/base64"
	"strings"
)

// Page tokens are opaque to clients: they carry the last key a page
// returned, and the next page starts after it.
const pageTokenPrefix = "after:"

// PageToken is the token for the page after the one that ended with last.
func PageToken(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(pageTokenPrefix + last))
}

// AfterPageToken returns the key a token carries: "" for no token, ok false
// for a token this API did not make (each service answers that with its own
// exception).
func AfterPageToken(token string) (last string, ok bool) {
	if token == "" {
		return "", true
	}
	p, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !strings.HasPrefix(string(p), pageTokenPrefix) || len(p) == len(pageTokenPrefix) {
		return "", false
	}
	return strings.TrimPrefix(string(p), pageTokenPrefix), true
}
