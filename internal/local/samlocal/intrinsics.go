package samlocal

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// noValue stands for AWS::NoValue: the property is removed.
type noValue struct{}

// Resolver evaluates CloudFormation intrinsic functions against known
// parameter values and the physical ids and attributes of resources.
type Resolver struct {
	Params     map[string]string            // parameters and pseudo parameters
	Refs       map[string]string            // logical id -> Ref value
	Attrs      map[string]map[string]string // logical id -> attribute -> value
	Conditions map[string]any
}

// Resolve returns v with every intrinsic function evaluated.
func (r *Resolver) Resolve(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return r.call(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			res, err := r.Resolve(val)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if _, drop := res.(noValue); !drop {
				out[k] = res
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, val := range x {
			res, err := r.Resolve(val)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if _, drop := res.(noValue); !drop {
				out = append(out, res)
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

// ResolveString resolves v and requires a string.
func (r *Resolver) ResolveString(v any) (string, error) {
	res, err := r.Resolve(v)
	if err != nil {
		return "", err
	}
	switch s := res.(type) {
	case string:
		return s, nil
	case int, float64, bool:
		return fmt.Sprint(s), nil
	}
	return "", fmt.Errorf("expected a string, got %T", res)
}

func (r *Resolver) call(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("intrinsic Ref takes a name")
		}
		return r.ref(name)
	case "Fn::GetAtt":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt takes [resource, attribute]")
		}
		return r.getAtt(fmt.Sprint(parts[0]), fmt.Sprint(parts[1]))
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::Join":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Join takes [delimiter, list]")
		}
		list, err := r.Resolve(parts[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Join: list is %T", list)
		}
		strs := make([]string, len(items))
		for i, it := range items {
			strs[i] = fmt.Sprint(it)
		}
		return strings.Join(strs, fmt.Sprint(parts[0])), nil
	case "Fn::Select":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Select takes [index, list]")
		}
		idx, err := r.ResolveString(parts[0])
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(idx)
		if err != nil {
			return nil, fmt.Errorf("Fn::Select index %q", idx)
		}
		list, err := r.Resolve(parts[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select index %d out of range", i)
		}
		return items[i], nil
	case "Fn::Split":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("Fn::Split takes [delimiter, string]")
		}
		s, err := r.ResolveString(parts[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(s, fmt.Sprint(parts[0])) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		parts, ok := arg.([]any)
		if !ok || len(parts) != 3 {
			return nil, fmt.Errorf("Fn::If takes [condition, then, else]")
		}
		cond, err := r.Condition(fmt.Sprint(parts[0]))
		if err != nil {
			return nil, err
		}
		if cond {
			return r.Resolve(parts[1])
		}
		return r.Resolve(parts[2])
	case "Condition":
		return r.Condition(fmt.Sprint(arg))
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return r.boolean(fn, arg)
	}
	return nil, fmt.Errorf("intrinsic function %s is not supported locally", fn)
}

// Condition evaluates a named condition of the template.
func (r *Resolver) Condition(name string) (bool, error) {
	def, ok := r.Conditions[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %q", name)
	}
	v, err := r.Resolve(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is not a boolean", name)
	}
	return b, nil
}

func (r *Resolver) boolean(fn string, arg any) (any, error) {
	args, ok := arg.([]any)
	if !ok {
		return nil, fmt.Errorf("%s takes a list", fn)
	}
	vals := make([]any, len(args))
	for i, a := range args {
		v, err := r.Resolve(a)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	switch fn {
	case "Fn::Equals":
		if len(vals) != 2 {
			return nil, fmt.Errorf("Fn::Equals takes two values")
		}
		return fmt.Sprint(vals[0]) == fmt.Sprint(vals[1]), nil
	case "Fn::Not":
		if len(vals) != 1 {
			return nil, fmt.Errorf("Fn::Not takes one condition")
		}
		b, ok := vals[0].(bool)
		if !ok {
			return nil, fmt.Errorf("Fn::Not of a non-boolean")
		}
		return !b, nil
	}
	all := fn == "Fn::And"
	for _, v := range vals {
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%s of a non-boolean", fn)
		}
		if b != all {
			return !all, nil
		}
	}
	return all, nil
}

func (r *Resolver) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue{}, nil
	}
	if v, ok := r.Params[name]; ok {
		return v, nil
	}
	if v, ok := r.Refs[name]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("intrinsic Ref to unknown %q", name)
}

func (r *Resolver) getAtt(resource, attr string) (any, error) {
	if v, ok := r.Attrs[resource][attr]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("Fn::GetAtt %s.%s is not known locally", resource, attr)
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (r *Resolver) sub(arg any) (any, error) {
	text, vars := "", map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub takes a string or [string, variables]")
		}
		text = fmt.Sprint(a[0])
		vars = asMap(a[1])
	default:
		return nil, fmt.Errorf("Fn::Sub takes a string")
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		var v any
		var err error
		if local, ok := vars[name]; ok {
			v, err = r.Resolve(local)
		} else if res, attr, dotted := strings.Cut(name, "."); dotted {
			v, err = r.getAtt(res, attr)
		} else {
			v, err = r.ref(name)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return m
		}
		return fmt.Sprint(v)
	})
	if firstErr != nil {
		return nil, firstErr
	}
	// ${!Literal} is written as ${Literal}.
	return strings.ReplaceAll(out, "${!", "${"), nil
}

// sortedKeys returns m's keys in order, for deterministic installs.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
