package lakeviews

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/refx-dev/refx/pkg/refx"
)

// View is one view statement: its name and its CREATE OR REPLACE VIEW.
type View struct {
	Name string `json:"Name"`
	SQL  string `json:"Sql"`
}

// viewName is a view's name as a statement may hold it unquoted.
var viewName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// viewHead is the start of a view statement, after its leading comments.
var viewHead = regexp.MustCompile(`(?is)^\s*CREATE\s+OR\s+REPLACE\s+VIEW\s+("?)([A-Za-z_][A-Za-z0-9_]*)("?)\s+AS\s`)

// Order returns views in an order Athena can create them in: every view
// after the views it reads. tables are the names a view may read besides
// the views (the exported tables). A view that reads a name that is
// neither, names itself differently in its statement, repeats another's
// name, or reads itself through other views is an invalid_argument error;
// nothing is ordered then. Among views free to go in any order, the order
// is by name, so that the same views always run in the same order.
func Order(views []View, tables []string) ([]View, error) {
	byName := map[string]View{}
	for _, v := range views {
		stmt := stripComments(v.SQL)
		m := viewHead.FindStringSubmatch(stmt)
		switch {
		case !viewName.MatchString(v.Name):
			return nil, refx.Errorf(refx.EINVALID, "%q is not a view name (letters, digits, _)", v.Name)
		case m == nil:
			return nil, refx.Errorf(refx.EINVALID, "view %s: the statement is not CREATE OR REPLACE VIEW %s AS ...", v.Name, v.Name)
		case !strings.EqualFold(m[2], v.Name):
			return nil, refx.Errorf(refx.EINVALID, "view %s: the statement creates the view %s", v.Name, m[2])
		}
		key := strings.ToLower(v.Name)
		if _, dup := byName[key]; dup {
			return nil, refx.Errorf(refx.EINVALID, "view %s is listed twice", v.Name)
		}
		byName[key] = v
	}
	isTable := map[string]bool{}
	for _, t := range tables {
		isTable[strings.ToLower(t)] = true
	}
	// reads[v] are the views v reads; readers[w] the views reading w.
	reads := map[string]map[string]bool{}
	readers := map[string][]string{}
	for key, v := range byName {
		reads[key] = map[string]bool{}
		for _, ref := range References(v.SQL) {
			switch {
			case byName[ref].Name != "":
				if !reads[key][ref] {
					reads[key][ref] = true
					readers[ref] = append(readers[ref], key)
				}
			case !isTable[ref]:
				return nil, refx.Errorf(refx.EINVALID, "view %s reads %s, which is neither an exported table nor one of the views", v.Name, ref)
			}
		}
	}
	// Kahn's algorithm, always taking the smallest name that is ready.
	var ready, out []string
	for key := range byName {
		if len(reads[key]) == 0 {
			ready = append(ready, key)
		}
	}
	ordered := make([]View, 0, len(views))
	for len(ready) > 0 {
		slices.Sort(ready)
		key := ready[0]
		ready = ready[1:]
		out = append(out, key)
		ordered = append(ordered, byName[key])
		for _, r := range readers[key] {
			delete(reads[r], key)
			if len(reads[r]) == 0 {
				ready = append(ready, r)
			}
		}
	}
	if len(out) < len(byName) {
		var cycle []string
		for _, key := range slices.Sorted(maps.Keys(byName)) {
			if len(reads[key]) > 0 {
				cycle = append(cycle, byName[key].Name)
			}
		}
		return nil, refx.Errorf(refx.EINVALID, "the views %s read each other in a cycle", strings.Join(cycle, ", "))
	}
	return ordered, nil
}

// References are the tables and views a statement reads (after FROM or
// JOIN, and after the commas of a FROM list), lower-cased, without their
// database, without the names its WITH clause defines, once each in the
// order they first appear.
func References(sql string) []string {
	toks := tokens(stripComments(sql))
	// queryParen[i]: the '(' at toks[i] opens a query (its first token is
	// SELECT or WITH), not a call such as extract(hour FROM ts).
	var stack []bool
	inQuery := func() bool { return len(stack) == 0 || stack[len(stack)-1] }
	ctes := map[string]bool{}
	var refs []string
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			refs = append(refs, name)
		}
	}
	// name reads the (possibly qualified, possibly quoted) table name at
	// toks[i], returning it and the index after it; "" when toks[i] is
	// not a table name (a subquery, or a function such as UNNEST).
	name := func(i int) (string, int) {
		if i >= len(toks) || !isIdent(toks[i]) {
			return "", i
		}
		n := unquote(toks[i])
		i++
		for i+1 < len(toks) && toks[i] == "." && isIdent(toks[i+1]) {
			n = unquote(toks[i+1])
			i += 2
		}
		if i < len(toks) && toks[i] == "(" {
			return "", i
		}
		return strings.ToLower(n), i
	}
	for i := 0; i < len(toks); i++ {
		t := strings.ToUpper(toks[i])
		switch {
		case t == "(":
			next := ""
			if i+1 < len(toks) {
				next = strings.ToUpper(toks[i+1])
			}
			stack = append(stack, next == "SELECT" || next == "WITH")
			// name AS ( SELECT ...: a WITH clause's query.
			if stack[len(stack)-1] && i >= 2 && strings.ToUpper(toks[i-1]) == "AS" && isIdent(toks[i-2]) {
				ctes[strings.ToLower(unquote(toks[i-2]))] = true
			}
		case t == ")":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case (t == "FROM" || t == "JOIN") && inQuery() && !(i > 0 && strings.ToUpper(toks[i-1]) == "DISTINCT"):
			j := i + 1
			for {
				n, k := name(j)
				if n == "" {
					break
				}
				add(n)
				// An alias, then a comma: another table of the list.
				if k < len(toks) && strings.EqualFold(toks[k], "AS") {
					k++
				}
				if k < len(toks) && isIdent(toks[k]) && !isKeyword(toks[k]) {
					k++
				}
				if k >= len(toks) || toks[k] != "," {
					break
				}
				j = k + 1
			}
		}
	}
	out := refs[:0]
	for _, r := range refs {
		if !ctes[r] {
			out = append(out, r)
		}
	}
	return out
}

// tokenPattern splits SQL into quoted identifiers, string literals,
// identifiers and numbers, and single other characters.
var tokenPattern = regexp.MustCompile(`"(?:[^"]|"")*"|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_$]*|[0-9]+|\S`)

func tokens(sql string) []string { return tokenPattern.FindAllString(sql, -1) }

func isIdent(t string) bool {
	return t != "" && (t[0] == '"' || t[0] == '_' || ('A' <= t[0] && t[0] <= 'Z') || ('a' <= t[0] && t[0] <= 'z'))
}

func unquote(t string) string {
	if len(t) >= 2 && t[0] == '"' {
		return strings.ReplaceAll(t[1:len(t)-1], `""`, `"`)
	}
	return t
}

// keywords that may follow a table name in a FROM list, which are not its
// alias.
var keywords = map[string]bool{
	"WHERE": true, "JOIN": true, "LEFT": true, "RIGHT": true, "FULL": true, "INNER": true, "OUTER": true, "CROSS": true,
	"ON": true, "USING": true, "GROUP": true, "ORDER": true, "HAVING": true, "LIMIT": true, "UNION": true,
	"EXCEPT": true, "INTERSECT": true, "WINDOW": true, "OFFSET": true, "FETCH": true, "TABLESAMPLE": true, "NATURAL": true,
}

func isKeyword(t string) bool { return keywords[strings.ToUpper(t)] }

// stripComments removes -- line comments and /* */ block comments outside
// string literals and quoted identifiers.
func stripComments(sql string) string {
	var b strings.Builder
	for i := 0; i < len(sql); {
		switch c := sql[i]; {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(sql))
			b.WriteString(sql[i:end])
			i = end
		case strings.HasPrefix(sql[i:], "--"):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = len(sql)
			} else {
				i += end + 4
			}
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
