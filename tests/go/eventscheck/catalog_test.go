package eventscheck

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(CatalogDir(), name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func indexNames(t *testing.T) []string {
	t.Helper()
	index, err := ReadIndex(CatalogDir())
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(index))
	for name := range index {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// The catalog's three lists agree: index.toml, the *.json files and the Go
// table, including each sample's Go type.
func TestIndexMatchesGoTable(t *testing.T) {
	dir := CatalogDir()
	index, err := ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(index) == 0 {
		t.Fatal("index.toml lists no events")
	}
	for name, entry := range index {
		s, ok := Samples[name]
		if !ok {
			t.Errorf("index.toml lists %q, which the Go table (Samples in check.go) lacks", name)
			continue
		}
		if entry.GoType != s.GoType {
			t.Errorf("%s: index.toml says go_type %q, the Go check decodes into %s", name, entry.GoType, s.GoType)
		}
		if strings.TrimSpace(entry.Description) == "" || strings.Contains(entry.Description, "\n") {
			t.Errorf("%s: description must be one non-empty line", name)
		}
		if _, err := os.Stat(filepath.Join(dir, name+".json")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name := range Samples {
		if _, ok := index[name]; !ok {
			t.Errorf("the Go table checks %q, which index.toml does not list", name)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := index[strings.TrimSuffix(filepath.Base(f), ".json")]; !ok {
			t.Errorf("%s is not listed in index.toml", filepath.Base(f))
		}
	}
}

func TestSamplesDecode(t *testing.T) {
	for _, name := range indexNames(t) {
		t.Run(name, func(t *testing.T) {
			s, ok := Samples[name]
			if !ok {
				t.Skip("not in the Go table; TestIndexMatchesGoTable reports it")
			}
			if err := s.Check(readSample(t, name)); err != nil {
				t.Errorf("%s.json as %s: %v", name, s.GoType, err)
			}
		})
	}
}

// Each known extra is really needed: without removing it, the strict decode
// fails. When aws-lambda-go learns a field, this says to drop the exception.
func TestKnownExtrasAreNeeded(t *testing.T) {
	for _, name := range indexNames(t) {
		s, ok := Samples[name]
		if !ok {
			continue
		}
		raw := readSample(t, name)
		for i, extra := range s.KnownExtras {
			others := append(append([]string{}, s.KnownExtras[:i]...), s.KnownExtras[i+1:]...)
			if err := DecodeStrict(raw, s.New(), others); err == nil {
				t.Errorf("%s: %s decodes without removing %q; drop it from KnownExtras", name, s.GoType, extra)
			}
		}
	}
}

// A broken sample must fail: mutate every sample in ways that real events
// never look like, and expect the check to reject each one.
func TestBrokenSamplesFail(t *testing.T) {
	for _, name := range indexNames(t) {
		s, ok := Samples[name]
		if !ok {
			continue
		}
		raw := readSample(t, name)
		mutations := map[string][]byte{
			"truncated":          raw[:len(raw)/2],
			"trailing data":      append(append([]byte{}, raw...), []byte(` {}`)...),
			"empty object":       []byte(`{}`),
			"top level an array": []byte(`[]`),
		}

		tree := mustTree(t, raw)
		// An unknown field in every object the Go type gives a shape to.
		for i, node := range objectNodes(tree) {
			if underAny(node.pattern, s.FreeForm) {
				continue
			}
			fresh := mustTree(t, raw)
			objectNodes(fresh)[i].obj["zzUnknownField"] = 1
			mutations["unknown field in "+describe(node.path)] = mustJSON(t, fresh)
		}
		// Top-level keys in the wrong case: encoding/json would accept them.
		for key, value := range tree.(map[string]any) {
			if isZeroJSON(value) {
				continue
			}
			fresh := mustTree(t, raw).(map[string]any)
			delete(fresh, key)
			fresh[flipFirstCase(key)] = value
			mutations["wrong case "+flipFirstCase(key)] = mustJSON(t, fresh)
		}
		// A batch whose first record is empty.
		if records, ok := tree.(map[string]any)["Records"].([]any); ok && len(records) > 0 {
			fresh := mustTree(t, raw).(map[string]any)
			fresh["Records"].([]any)[0] = map[string]any{}
			mutations["empty first record"] = mustJSON(t, fresh)
		}

		for what, broken := range mutations {
			if err := s.Check(broken); err == nil {
				t.Errorf("%s with %s: the check accepted it", name, what)
			}
		}
		t.Logf("%s: %d broken variants, all rejected unless reported above", name, len(mutations))
	}
}

func TestBrokenCloudWatchLogsFail(t *testing.T) {
	s := Samples["cloudwatch-logs"]
	var event struct {
		AWSLogs struct {
			Data string `json:"data"`
		} `json:"awslogs"`
	}
	if err := json.Unmarshal(readSample(t, "cloudwatch-logs"), &event); err != nil {
		t.Fatal(err)
	}
	payload, err := gunzipBase64(event.AWSLogs.Data)
	if err != nil {
		t.Fatal(err)
	}
	withData := func(data string) []byte {
		return mustJSON(t, map[string]any{"awslogs": map[string]any{"data": data}})
	}
	withPayload := func(edit func(map[string]any)) []byte {
		tree := mustTree(t, payload).(map[string]any)
		edit(tree)
		return withData(gzipBase64(t, mustJSON(t, tree)))
	}
	flipped := []byte(event.AWSLogs.Data)
	flipped[len(flipped)/2] ^= 0x01
	mutations := map[string][]byte{
		"data not base64":        withData("not base64!"),
		"data not gzip":          withData(base64.StdEncoding.EncodeToString(payload)),
		"data corrupted":         withData(string(flipped)),
		"gzip of invalid JSON":   withData(gzipBase64(t, payload[:len(payload)/2])),
		"no log events":          withPayload(func(p map[string]any) { p["logEvents"] = []any{} }),
		"unknown payload field":  withPayload(func(p map[string]any) { p["zzUnknownField"] = 1 }),
		"log event without text": withPayload(func(p map[string]any) { p["logEvents"].([]any)[0].(map[string]any)["message"] = "" }),
	}
	// The unmutated payload, re-encoded the same way, still passes: the
	// mutations above fail for their own reason, not because of re-encoding.
	if err := s.Check(withPayload(func(map[string]any) {})); err != nil {
		t.Fatalf("re-encoded payload: %v", err)
	}
	for what, broken := range mutations {
		if err := s.Check(broken); err == nil {
			t.Errorf("cloudwatch-logs with %s: the check accepted it", what)
		}
	}
}

type objectNode struct {
	obj           map[string]any
	path, pattern string
}

// objectNodes lists every JSON object in tree, in a stable order. pattern is
// path with array indexes written "[]", to match Sample.FreeForm.
func objectNodes(tree any) []objectNode {
	var nodes []objectNode
	var walk func(v any, path, pattern string)
	walk = func(v any, path, pattern string) {
		switch x := v.(type) {
		case map[string]any:
			nodes = append(nodes, objectNode{x, path, pattern})
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k], joinPath(path, k), joinPath(pattern, k))
			}
		case []any:
			for i, e := range x {
				walk(e, path+"["+strconv.Itoa(i)+"]", pattern+"[]")
			}
		}
	}
	walk(tree, "", "")
	return nodes
}

func underAny(pattern string, prefixes []string) bool {
	for _, p := range prefixes {
		if pattern == p || strings.HasPrefix(pattern, p+".") || strings.HasPrefix(pattern, p+"[") {
			return true
		}
	}
	return false
}

func flipFirstCase(s string) string {
	first := s[:1]
	if strings.ToUpper(first) == first {
		return strings.ToLower(first) + s[1:]
	}
	return strings.ToUpper(first) + s[1:]
}

func mustTree(t *testing.T, raw []byte) any {
	t.Helper()
	tree, err := parseTree(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBase64(t *testing.T, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
