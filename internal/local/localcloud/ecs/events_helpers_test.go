package ecs_test

import (
	"encoding/json"
	"testing"
)

func detailField(t testing.TB, detail json.RawMessage, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(detail, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[key].(string)
	return s
}
