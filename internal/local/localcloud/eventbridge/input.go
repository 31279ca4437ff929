package eventbridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// pathStep is one step of the JSONPath subset EventBridge supports: a field
// name or an array index.
type pathStep struct {
	name  string
	index int // -1 for a field step
}

// parsePath parses $, $.a.b, $.a[0].b, $.detail.x-y.
func parsePath(p string) ([]pathStep, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("%q must start with $", p)
	}
	rest := p[1:]
	var steps []pathStep
	for rest != "" {
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			name := rest[1 : 1+end]
			if name == "" {
				return nil, fmt.Errorf("%q has an empty field name", p)
			}
			steps = append(steps, pathStep{name: name, index: -1})
			rest = rest[1+end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%q has an unclosed [", p)
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%q: only array indices are supported in brackets", p)
			}
			steps = append(steps, pathStep{index: n})
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("%q is not a supported JSON path", p)
		}
	}
	return steps, nil
}

// lookup follows steps into v; ok is false when the path does not exist.
func lookup(v any, steps []pathStep) (any, bool) {
	for _, s := range steps {
		if s.index >= 0 {
			a, ok := v.([]any)
			if !ok || s.index >= len(a) {
				return nil, false
			}
			v = a[s.index]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[s.name]; !ok {
			return nil, false
		}
	}
	return v, true
}

// targetInput is what target t of rule r receives for the event (raw JSON
// and decoded).
func targetInput(t *target, r *rule, raw []byte, ev map[string]any, now time.Time) ([]byte, error) {
	switch {
	case t.Input != "":
		return []byte(t.Input), nil
	case t.InputPath != "":
		steps, err := parsePath(t.InputPath)
		if err != nil {
			return nil, err
		}
		v, ok := lookup(ev, steps)
		if !ok {
			return []byte("null"), nil
		}
		return marshal(v)
	case t.InputTransformer != nil:
		return transform(t.InputTransformer, r, raw, ev, now)
	}
	return raw, nil
}

// transform renders an input template. In a JSON template a placeholder
// inside a string takes the value's text (a string without its quotes);
// outside a string it takes the value as JSON. In a text template every
// placeholder takes the value's text. A path missing from the event gives
// null (empty text inside a string).
func transform(it *inputTransformer, r *rule, raw []byte, ev map[string]any, now time.Time) ([]byte, error) {
	vals := map[string]any{}
	present := map[string]bool{}
	keys := make([]string, 0, len(it.InputPathsMap))
	for k := range it.InputPathsMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		steps, err := parsePath(it.InputPathsMap[k])
		if err != nil {
			return nil, err
		}
		vals[k], present[k] = lookup(ev, steps)
	}
	// Predefined variables.
	vals["aws.events.rule-arn"], present["aws.events.rule-arn"] = r.arn, true
	vals["aws.events.rule-name"], present["aws.events.rule-name"] = r.name, true
	vals["aws.events.event.ingestion-time"], present["aws.events.event.ingestion-time"] = now.UTC().Format("2006-01-02T15:04:05.000Z"), true
	withoutDetail := map[string]any{}
	for k, v := range ev {
		if k != "detail" {
			withoutDetail[k] = v
		}
	}
	vals["aws.events.event"], present["aws.events.event"] = withoutDetail, true
	vals["aws.events.event.json"], present["aws.events.event.json"] = json.RawMessage(raw), true

	tpl := it.InputTemplate
	jsonMode := jsonTemplate(tpl)
	var out bytes.Buffer
	inString := false
	for i := 0; i < len(tpl); i++ {
		c := tpl[i]
		if c == '\\' && inString && i+1 < len(tpl) {
			out.WriteByte(c)
			out.WriteByte(tpl[i+1])
			i++
			continue
		}
		if c == '"' {
			inString = !inString
			out.WriteByte(c)
			continue
		}
		if c == '<' {
			end := strings.IndexByte(tpl[i:], '>')
			if end > 0 {
				name := tpl[i+1 : i+end]
				if _, known := present[name]; known {
					text, err := placeholder(vals[name], present[name], jsonMode, inString)
					if err != nil {
						return nil, err
					}
					out.WriteString(text)
					i += end
					continue
				}
			}
		}
		out.WriteByte(c)
	}
	return out.Bytes(), nil
}

func placeholder(v any, ok, jsonMode, inString bool) (string, error) {
	asJSON := jsonMode && !inString
	if !ok {
		if asJSON {
			return "null", nil
		}
		return "", nil
	}
	if asJSON {
		b, err := marshal(v)
		return string(b), err
	}
	s, isString := v.(string)
	if !isString {
		b, err := marshal(v)
		if err != nil {
			return "", err
		}
		s = string(b)
		if !inString {
			return s, nil
		}
	}
	if jsonMode && inString {
		// Escape for a JSON string literal, without the quotes.
		b, err := marshal(s)
		if err != nil {
			return "", err
		}
		return string(b[1 : len(b)-1]), nil
	}
	return s, nil
}

// marshal encodes v as JSON without HTML escaping, as EventBridge does.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// jsonTemplate reports whether an input template is JSON (an object or an
// array) rather than text.
func jsonTemplate(tpl string) bool {
	t := strings.TrimSpace(tpl)
	return strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")
}
