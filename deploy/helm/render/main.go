// Command render prints a chart's manifests the way `helm template NAME CHART` does.
//
// Why it exists: helm is not installable on the machines that check this repository (it is packaged
// neither in Debian nor in npm, and there is no other way in). Helm's template engine, though, is
// only Go's text/template with the sprig functions plus a few of helm's own, and Debian packages
// Go, sprig and sigs.k8s.io/yaml (the YAML library helm uses). So this renders the chart with the
// same engine; test/integration/helm-chart.test.ts runs it. Written from helm's documented
// behaviour, not copied from helm.
//
// Build with no module download, from Debian's Go sources in GOPATH mode. Go resolves the
// import path github.com/Masterminds/sprig/v3 to Debian's .../sprig only for a program that lies
// inside a GOPATH and has a go.mod, hence the copy (Go sees through a symlink):
//
//	mkdir -p /tmp/gp/src/spillway && cp -r deploy/helm/render /tmp/gp/src/spillway/helm-render
//	(cd /tmp/gp/src/spillway/helm-render && GO111MODULE=off GOPATH=/tmp/gp:/usr/share/gocode go build -o /tmp/gp/render .)
//	/tmp/gp/render [-f values.yaml]... [-set a.b=c]... [-namespace ns] [-strict] NAME CHART_DIR
//
// With network access instead: `go mod tidy && go run . NAME CHART_DIR` in this directory.
//
// Left out, as this chart does not use them: subcharts, .Files, toToml, lookup against a cluster
// (it returns an empty map, as in `helm template`), sorting manifests by kind (files come in name
// order), schema validation (values.schema.json).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

type values = map[string]interface{}

// chartMeta is the part of Chart.yaml a template reaches as .Chart. A struct, as in helm, so that a
// misspelt field such as .Chart.Nmae is an error rather than an empty string.
type chartMeta struct {
	APIVersion  string `json:"apiVersion"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

// apiVersions answers .Capabilities.APIVersions.Has; there is no cluster to ask, so only the
// built-in groups are known.
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, have := range a {
		if have == v {
			return true
		}
	}
	return false
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var files, sets multiFlag
	flag.Var(&files, "f", "values file merged over the chart's values.yaml (repeatable, later wins)")
	flag.Var(&sets, "set", "a.b=c[,d=e] merged over the values files (repeatable, later wins)")
	namespace := flag.String("namespace", "default", ".Release.Namespace")
	strict := flag.Bool("strict", false, "a missing key is an error and \"<no value>\" is left in the output (helm hides both)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: render [-f values.yaml]... [-set a.b=c]... [-namespace ns] [-strict] NAME CHART_DIR")
		os.Exit(2)
	}
	out, err := render(flag.Arg(0), flag.Arg(1), *namespace, files, sets, *strict)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

func render(release, chartDir, namespace string, files, sets []string, strict bool) (string, error) {
	var chart chartMeta
	if err := readYAML(filepath.Join(chartDir, "Chart.yaml"), &chart); err != nil {
		return "", err
	}
	vals := values{}
	if err := readYAML(filepath.Join(chartDir, "values.yaml"), &vals); err != nil {
		return "", err
	}
	for _, f := range files {
		override := values{}
		if err := readYAML(f, &override); err != nil {
			return "", err
		}
		vals = coalesce(vals, override)
	}
	for _, s := range sets {
		override, err := parseSet(s)
		if err != nil {
			return "", err
		}
		vals = coalesce(vals, override)
	}

	// Every file under templates/ goes into one template set named "<chart>/templates/<file>", so
	// that `include` and `define` work across files and .Template.BasePath names them.
	tmplDir := filepath.Join(chartDir, "templates")
	entries, err := os.ReadDir(tmplDir)
	if err != nil {
		return "", err
	}
	t := template.New("gotpl")
	if strict {
		t.Option("missingkey=error")
	} else {
		t.Option("missingkey=zero")
	}
	t.Funcs(funcMap(t))
	var names []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".tpl" && ext != ".txt") {
			continue
		}
		name := chart.Name + "/templates/" + e.Name()
		text, err := os.ReadFile(filepath.Join(tmplDir, e.Name()))
		if err != nil {
			return "", err
		}
		if _, err := t.New(name).Parse(string(text)); err != nil {
			return "", err
		}
		names = append(names, name)
	}
	sort.Strings(names)

	top := values{
		"Values":       vals,
		"Chart":        &chart,
		"Release":      values{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Capabilities": values{"KubeVersion": values{"Version": "v1.28.0", "Major": "1", "Minor": "28"}, "APIVersions": apiVersions{"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "policy/v1"}},
	}
	var out strings.Builder
	for _, name := range names {
		// Files starting with "_" hold definitions only; they are never rendered on their own.
		if strings.HasPrefix(filepath.Base(name), "_") {
			continue
		}
		top["Template"] = values{"Name": name, "BasePath": chart.Name + "/templates"}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, name, top); err != nil {
			return "", err
		}
		text := buf.String()
		if !strict {
			// With missingkey=zero a missing key prints "<no value>"; helm removes it from the output.
			text = strings.ReplaceAll(text, "<no value>", "")
		}
		for _, doc := range docSeparator.Split(text, -1) {
			if doc = strings.TrimSpace(doc); doc != "" {
				fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, doc)
			}
		}
	}
	return out.String(), nil
}

// A "---" line between YAML documents in one rendered file.
var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// funcMap is sprig's (less env and expandenv, which helm removes so a chart cannot read the
// machine's environment) plus helm's own functions that charts commonly use.
func funcMap(t *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toYaml": func(v interface{}) string {
			data, err := yaml.Marshal(v)
			if err != nil {
				return "" // helm, too, swallows the error here
			}
			return strings.TrimSuffix(string(data), "\n")
		},
		"fromYaml": func(s string) values {
			m := values{}
			if err := yaml.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromYamlArray": func(s string) []interface{} {
			var a []interface{}
			if err := yaml.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"toJson": func(v interface{}) string {
			data, err := json.Marshal(v)
			if err != nil {
				return ""
			}
			return string(data)
		},
		"fromJson": func(s string) values {
			m := values{}
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"required": func(msg string, v interface{}) (interface{}, error) {
			if v == nil {
				return nil, errors.New(msg)
			}
			if s, ok := v.(string); ok && s == "" {
				return nil, errors.New(msg)
			}
			return v, nil
		},
		"include": func(name string, data interface{}) (string, error) {
			var buf bytes.Buffer
			err := t.ExecuteTemplate(&buf, name, data)
			return buf.String(), err
		},
		// tpl renders a string from the values as a template, with the chart's definitions in scope.
		"tpl": func(text string, data interface{}) (string, error) {
			clone, err := t.Clone()
			if err != nil {
				return "", err
			}
			if _, err := clone.New("tpl").Parse(text); err != nil {
				return "", err
			}
			var buf bytes.Buffer
			err = clone.ExecuteTemplate(&buf, "tpl", data)
			return buf.String(), err // "<no value>" is removed from the whole file afterwards
		},
		"lookup": func(apiVersion, kind, namespace, name string) (values, error) { return values{}, nil },
	}
	for name, fn := range extra {
		f[name] = fn
	}
	return f
}

// readYAML parses a file the way helm does: YAML converted to JSON first, so numbers are float64
// (hence `int .Values.replicaCount` in templates).
func readYAML(path string, into interface{}) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// coalesce lays override over base: maps merge key by key, anything else (lists too) is replaced,
// and a null in override deletes the key, as with `helm template -f` and `--set key=null`.
func coalesce(base, override values) values {
	out := values{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range override {
		if v == nil {
			delete(out, k)
			continue
		}
		bm, bok := out[k].(values)
		om, ook := v.(values)
		if bok && ook {
			out[k] = coalesce(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

// parseSet reads helm's --set syntax, the common part: `a.b=v,c[0]=v,d={x,y}`, `\,` and `\.` for
// literal commas and dots. Values are typed as helm types them: true/false, null, integers
// (without a leading zero), else strings.
func parseSet(s string) (values, error) {
	out := values{}
	for _, pair := range splitUnescaped(s, ',', true) {
		eq := strings.IndexByte(pair, '=')
		if eq < 0 {
			return nil, fmt.Errorf("--set %q: expected key=value", pair)
		}
		key, raw := pair[:eq], pair[eq+1:]
		var val interface{}
		if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
			list := []interface{}{}
			if inner := raw[1 : len(raw)-1]; inner != "" {
				for _, item := range splitUnescaped(inner, ',', false) {
					list = append(list, typed(unescape(item)))
				}
			}
			val = list
		} else {
			val = typed(unescape(raw))
		}
		if err := setPath(out, splitUnescaped(key, '.', false), val); err != nil {
			return nil, fmt.Errorf("--set %q: %w", pair, err)
		}
	}
	return out, nil
}

var indexSuffix = regexp.MustCompile(`^(.*)\[(\d+)\]$`)

func setPath(m values, path []string, val interface{}) error {
	part := unescape(path[0])
	last := len(path) == 1
	if match := indexSuffix.FindStringSubmatch(part); match != nil {
		name := match[1]
		i, _ := strconv.Atoi(match[2])
		list, _ := m[name].([]interface{})
		for len(list) <= i {
			list = append(list, nil)
		}
		if last {
			list[i] = val
		} else {
			child, _ := list[i].(values)
			if child == nil {
				child = values{}
			}
			if err := setPath(child, path[1:], val); err != nil {
				return err
			}
			list[i] = child
		}
		m[name] = list
		return nil
	}
	if last {
		m[part] = val
		return nil
	}
	child, _ := m[part].(values)
	if child == nil {
		child = values{}
		m[part] = child
	}
	return setPath(child, path[1:], val)
}

func typed(s string) interface{} {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && (s == "0" || !strings.HasPrefix(strings.TrimPrefix(s, "-"), "0")) {
		return n
	}
	return s
}

// splitUnescaped splits on sep where not preceded by a backslash (and, with braces, not inside
// {...}); escapes are kept for the caller to remove.
func splitUnescaped(s string, sep byte, braces bool) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case braces && s[i] == '{':
			depth++
		case braces && s[i] == '}':
			depth--
		case s[i] == sep && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func unescape(s string) string {
	return strings.NewReplacer(`\,`, ",", `\.`, ".", `\\`, `\`).Replace(s)
}
