package states

import (
	"fmt"
	"strconv"
	"strings"
)

// template is a compiled Payload Template (Parameters, ResultSelector,
// ItemSelector): fields named "x.$" take their value from a Path or an
// intrinsic function; everything else is copied, recursing into objects and
// arrays.
type template struct {
	lit    any // when fields and items are nil and obj/arr false
	obj    bool
	arr    bool
	fields []templateField
	items  []*template
}

type templateField struct {
	key  string
	path *jsonPath
	fn   *intrinsic
	src  string
	sub  *template
}

// compileTemplate compiles v, adding problems found at where.
func compileTemplate(v any, where string, problems *[]string) *template {
	switch t := v.(type) {
	case map[string]any:
		tp := &template{obj: true}
		seen := map[string]string{}
		for _, k := range sortedKeys(t) {
			val := t[k]
			f := templateField{key: k}
			if strings.HasSuffix(k, ".$") {
				f.key = strings.TrimSuffix(k, ".$")
				s, ok := val.(string)
				if !ok {
					*problems = append(*problems, fmt.Sprintf("%s: field %q ends in .$ so its value must be a path or intrinsic function string, not %s", where, k, typeName(val)))
					continue
				}
				f.src = s
				if strings.HasPrefix(s, "$") {
					p, err := parsePath(s)
					if err != nil {
						*problems = append(*problems, fmt.Sprintf("%s: field %q: %v", where, k, err))
						continue
					}
					f.path = p
				} else {
					fn, err := parseIntrinsic(s)
					if err != nil {
						*problems = append(*problems, fmt.Sprintf("%s: field %q: %v", where, k, err))
						continue
					}
					f.fn = fn
				}
			} else {
				f.sub = compileTemplate(val, where+"."+k, problems)
			}
			if other, dup := seen[f.key]; dup {
				*problems = append(*problems, fmt.Sprintf("%s: fields %q and %q both produce %q", where, other, k, f.key))
			}
			seen[f.key] = k
			tp.fields = append(tp.fields, f)
		}
		return tp
	case []any:
		tp := &template{arr: true, items: make([]*template, len(t))}
		for i, x := range t {
			tp.items[i] = compileTemplate(x, where+"["+strconv.Itoa(i)+"]", problems)
		}
		return tp
	}
	return &template{lit: v}
}

// eval builds the payload from data ($) and the context object ($$).
func (t *template) eval(data any, ctx *contextObj, field string) (any, *failure) {
	switch {
	case t.obj:
		out := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			switch {
			case f.path != nil:
				v, err := f.path.eval(data, ctx.value())
				if err != nil {
					return nil, failf(ErrParameterPathFailure, "The JSONPath '%s' specified for the field '%s.$' could not be found in the input '%s'", f.src, f.key, mustJSON(pathRoot(f.path, data, ctx)))
				}
				out[f.key] = v
			case f.fn != nil:
				v, ferr := f.fn.eval(data, ctx)
				if ferr != nil {
					return nil, ferr
				}
				out[f.key] = v
			default:
				v, ferr := f.sub.eval(data, ctx, field)
				if ferr != nil {
					return nil, ferr
				}
				out[f.key] = v
			}
		}
		return out, nil
	case t.arr:
		out := make([]any, len(t.items))
		for i, it := range t.items {
			v, ferr := it.eval(data, ctx, field)
			if ferr != nil {
				return nil, ferr
			}
			out[i] = v
		}
		return out, nil
	}
	return deepCopy(t.lit), nil
}

func pathRoot(p *jsonPath, data any, ctx *contextObj) any {
	if p.context {
		return ctx.value()
	}
	return data
}

// optPath is an InputPath/OutputPath/ItemsPath-like field: absent means "$",
// null means "{}" (for InputPath and OutputPath).
type optPath struct {
	null bool
	path *jsonPath
}

// apply selects from data; a path that matches nothing is States.Runtime.
func (o *optPath) apply(data any, ctx *contextObj, field string) (any, *failure) {
	if o == nil {
		return data, nil
	}
	if o.null {
		return map[string]any{}, nil
	}
	v, err := o.path.eval(data, ctx.value())
	if err != nil {
		return nil, failf(ErrRuntime, "An error occurred while executing the state. %s", err)
	}
	return v, nil
}

// resultPath says where a state's result goes in its input.
type resultPath struct {
	null bool      // discard the result: output is the input
	path *jsonPath // nil with null false: "$", the result replaces the input
}

// apply combines the state's raw input with its result.
func (r *resultPath) apply(input, result any) (any, *failure) {
	if r == nil || (!r.null && r.path == nil) {
		return result, nil
	}
	if r.null {
		return input, nil
	}
	if r.path.context {
		return nil, failf(ErrResultPathMatchFailure, "ResultPath '%s' cannot refer to the context object", r.path.src)
	}
	if len(r.path.segs) == 0 {
		return result, nil
	}
	out := deepCopy(input)
	var set func(cur any, segs []segment) (any, bool)
	set = func(cur any, segs []segment) (any, bool) {
		sg := segs[0]
		switch sg.kind {
		case segName:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if len(segs) == 1 {
				m[sg.name] = result
				return m, true
			}
			next, exists := m[sg.name]
			if !exists || next == nil {
				next = map[string]any{}
			}
			v, ok := set(next, segs[1:])
			if !ok {
				return nil, false
			}
			m[sg.name] = v
			return m, true
		case segIndex:
			a, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			i, ok := arrayIndex(a, sg.index)
			if !ok {
				return nil, false
			}
			if len(segs) == 1 {
				a[i] = result
				return a, true
			}
			v, ok := set(a[i], segs[1:])
			if !ok {
				return nil, false
			}
			a[i] = v
			return a, true
		}
		return nil, false
	}
	v, ok := set(out, r.path.segs)
	if !ok {
		return nil, failf(ErrResultPathMatchFailure, "Unable to apply ResultPath '%s' to input '%s'", r.path.src, mustJSON(input))
	}
	return v, nil
}
