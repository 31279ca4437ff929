package states

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// The checks of a definition that are not tied to one state type: field
// sets and types, paths, transitions, reachability, duplicate JSON keys.

// checker accumulates problems while building the machine.
type checker struct {
	problems []string
	names    map[string]string // state name -> where it was defined
}

func (c *checker) addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// fields reports fields not in allowed.
func (c *checker) fields(obj map[string]any, where string, allowed ...string) {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for _, k := range sortedKeys(obj) {
		switch {
		case ok[k]:
		case unsupported[k] != "":
			c.addf("%s: field %q is not supported: %s", where, k, unsupported[k])
		default:
			c.addf("%s: unknown field %q", where, k)
		}
	}
}

// unsupported names real Step Functions fields this engine does not run,
// so that a definition using them gets a reason rather than "unknown".
var unsupported = map[string]string{
	"ItemReader":   "distributed Map reads items from S3",
	"ItemBatcher":  "distributed Map batches items",
	"ResultWriter": "distributed Map writes results to S3",
	"Assign":       "workflow variables are not implemented",
	"Arguments":    "JSONata states are not implemented (JSONPath only)",
	"Output":       "JSONata states are not implemented (JSONPath only)",
	"Items":        "JSONata states are not implemented (JSONPath only)",
}

func (c *checker) optString(obj map[string]any, key, where string) string {
	v, ok := obj[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		c.addf("%s: %s must be a string, not %s", where, key, typeName(v))
	}
	return s
}

func (c *checker) reqString(obj map[string]any, key, where string) string {
	if _, ok := obj[key]; !ok {
		c.addf("%s: missing required field %s", where, key)
		return ""
	}
	s := c.optString(obj, key, where)
	if s == "" {
		c.addf("%s: %s must not be empty", where, key)
	}
	return s
}

func (c *checker) integer(obj map[string]any, key, where string, min int64) int64 {
	v := obj[key]
	n, ok := toInt(v)
	if !ok {
		c.addf("%s: %s must be an integer, not %s", where, key, mustJSON(v))
		return 0
	}
	if n < min {
		c.addf("%s: %s must be at least %d, not %d", where, key, min, n)
	}
	return n
}

func (c *checker) positiveInt(obj map[string]any, key, where string) int64 {
	return c.integer(obj, key, where, 1)
}

func (c *checker) pathField(obj map[string]any, key, where string, ref bool) *jsonPath {
	v, ok := obj[key]
	if !ok {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		c.addf("%s: %s must be a path string, not %s", where, key, typeName(v))
		return nil
	}
	var p *jsonPath
	var err error
	if ref {
		p, err = parseRefPath(s)
	} else {
		p, err = parsePath(s)
	}
	if err != nil {
		c.addf("%s: %s: %v", where, key, err)
		return nil
	}
	return p
}

// optPathField reads InputPath/OutputPath: absent, null or a Path.
func (c *checker) optPathField(obj map[string]any, key, where string) *optPath {
	v, ok := obj[key]
	if !ok {
		return nil
	}
	if v == nil {
		return &optPath{null: true}
	}
	p := c.pathField(obj, key, where, false)
	if p == nil {
		return nil
	}
	return &optPath{path: p}
}

func (c *checker) resultPathField(obj map[string]any, where string) *resultPath {
	v, ok := obj["ResultPath"]
	if !ok {
		return nil
	}
	if v == nil {
		return &resultPath{null: true}
	}
	p := c.pathField(obj, "ResultPath", where, true)
	if p == nil {
		return nil
	}
	if p.context {
		c.addf("%s: ResultPath must not refer to the context object ($$)", where)
	}
	return &resultPath{path: p}
}

func (c *checker) templateField(obj map[string]any, key, where string) *template {
	v, ok := obj[key]
	if !ok {
		return nil
	}
	return compileTemplate(v, where+"."+key, &c.problems)
}

// transitions checks that targets exist in the same scope, that every state
// is reachable from StartAt, and that the scope can end.
func (c *checker) transitions(def *machineDef, where string) {
	terminal := false
	for _, name := range def.order {
		st := def.states[name]
		for _, t := range st.targets() {
			if _, ok := def.states[t]; !ok {
				c.addf("state %q: transition to %q, which is not a state of %s", name, t, where)
			}
		}
		if st.end || st.typ == "Succeed" || st.typ == "Fail" {
			terminal = true
		}
	}
	if len(def.states) > 0 && !terminal {
		c.addf("%s: no terminal state (End, Succeed or Fail)", where)
	}
	if _, ok := def.states[def.startAt]; !ok {
		return
	}
	seen := map[string]bool{def.startAt: true}
	queue := []string{def.startAt}
	for len(queue) > 0 {
		st := def.states[queue[0]]
		queue = queue[1:]
		for _, t := range st.targets() {
			if _, ok := def.states[t]; ok && !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	for _, name := range def.order {
		if !seen[name] {
			c.addf("state %q: unreachable from StartAt %q", name, def.startAt)
		}
	}
}

func (st *state) targets() []string {
	var out []string
	if st.next != "" {
		out = append(out, st.next)
	}
	if st.defaultNext != "" {
		out = append(out, st.defaultNext)
	}
	for _, r := range st.choices {
		if r.next != "" {
			out = append(out, r.next)
		}
	}
	for _, k := range st.catch {
		if k.next != "" {
			out = append(out, k.next)
		}
	}
	return out
}

// duplicateKeys finds objects with a repeated key, which encoding/json would
// silently collapse.
func duplicateKeys(b []byte) []string {
	d := json.NewDecoder(bytes.NewReader(b))
	var problems []string
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				if seen[k] {
					problems = append(problems, fmt.Sprintf("%s: duplicate field %q", path, k))
				}
				seen[k] = true
				if err := walk(path + "." + k); err != nil {
					return err
				}
			}
			_, err := d.Token()
			return err
		case json.Delim('['):
			for i := 0; d.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err := d.Token()
			return err
		}
		return nil
	}
	if err := walk("$"); err != nil && err != io.EOF {
		return nil // syntax errors are reported by the decoder proper
	}
	return problems
}
