package fakegraph

import (
	"bytes"
	"encoding/json"
	"strings"
)

// field is one member of an ordered JSON object.
type field struct {
	k string
	v any
}

// obj is a JSON object that keeps its members in insertion order, so that
// responses read like Graph's (annotations first, then properties in
// schema order).
type obj []field

// MarshalJSON writes the members in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(f.k)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// get returns the value stored under k.
func (o obj) get(k string) (any, bool) {
	for _, f := range o {
		if f.k == k {
			return f.v, true
		}
	}
	return nil, false
}

// lookup returns the value at a property path such as
// "customer/tenantId", descending into nested objects.
func (o obj) lookup(path string) (any, bool) {
	head, rest, nested := strings.Cut(path, "/")
	v, ok := o.get(head)
	if !ok || !nested {
		return v, ok
	}
	inner, isObj := v.(obj)
	if !isObj {
		return nil, false
	}
	return inner.lookup(rest)
}

// prepend returns a copy of o with k as its first member.
func (o obj) prepend(k string, v any) obj {
	out := make(obj, 0, len(o)+1)
	out = append(out, field{k, v})
	for _, f := range o {
		if f.k != k {
			out = append(out, f)
		}
	}
	return out
}

// pick returns the annotations ("@..." members), id, and the members named
// in keep, in o's order.
func (o obj) pick(keep []string) obj {
	out := make(obj, 0, len(keep)+2)
	for _, f := range o {
		if strings.HasPrefix(f.k, "@") || f.k == "id" || containsFold(keep, f.k) {
			out = append(out, f)
		}
	}
	return out
}

// keys returns the member names of o.
func (o obj) keys() []string {
	out := make([]string, len(o))
	for i, f := range o {
		out[i] = f.k
	}
	return out
}

// containsFold reports whether list holds s, ignoring case.
func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
