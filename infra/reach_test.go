package main

import (
	"cmp"
	"go/constant"
	"go/types"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"

	"github.com/refx-dev/refx/pkg/httpapi"
)

// The AWS SDK clients whose calls are IAM actions.
var sdkServices = map[string]string{
	"github.com/aws/aws-sdk-go-v2/service/dynamodb":       "dynamodb",
	"github.com/aws/aws-sdk-go-v2/service/s3":             "s3",
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager": "secretsmanager",
}

// transactItems are the items of a DynamoDB write transaction: IAM checks
// the action of each (there is no TransactWriteItems action).
var transactItems = map[string]string{
	"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
}

// indexQuery is the pseudo-action of a Query (or Scan) with an IndexName:
// dynamodb:Query on the index's ARN.
const indexQuery = "dynamodb:Query(index)"

// getSecret is the action of reading a secret. Both keys are read with it,
// so TestGrantsMatchCode compares it per resource: getSecret+"(admin-key)"
// and getSecret+"(hash-key)".
const getSecret = "secretsmanager:GetSecretValue"

// keyFields are the fields of httpapi.Server holding a key read from a
// secret, by the name of the secret's resource. Code reading the field uses
// the key (and so needs its secret); a route registered behind a check made
// from the field (requireRole) uses it too.
var keyFields = map[string]string{"AdminKey": "admin-key", "HashKey": "hash-key"}

// usesKey is the prefix of reach's pseudo-action "the code reads the key
// of this resource" (usesKey+"hash-key").
const usesKey = "uses key:"

// program is the SSA form of refx's packages (bodies for refx's own code,
// types only for dependencies), with what the reachability analysis needs.
type program struct {
	prog *ssa.Program
	pkgs map[string]*ssa.Package // by import path
	// fieldFuncs are the functions stored into each func-typed struct field
	// anywhere in the program (Server.Ping = store.Ping).
	fieldFuncs map[*types.Var][]*ssa.Function
	// concrete are the types that may implement an interface: refx's own
	// and the SDK clients.
	concrete []types.Type
}

var (
	programOnce sync.Once
	programVal  *program
	programErr  error
)

// loadProgram builds the SSA program once per test binary.
func loadProgram(t *testing.T) *program {
	t.Helper()
	programOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			programErr = err
			return
		}
		cfg := &packages.Config{Mode: packages.LoadSyntax, Dir: root}
		initial, err := packages.Load(cfg, modulePath+"/pkg/...")
		if err != nil {
			programErr = err
			return
		}
		if packages.PrintErrors(initial) > 0 {
			programErr = errFailedLoad
			return
		}
		prog, ssaPkgs := ssautil.Packages(initial, ssa.InstantiateGenerics)
		prog.Build()
		p := &program{prog: prog, pkgs: map[string]*ssa.Package{}, fieldFuncs: map[*types.Var][]*ssa.Function{}}
		for _, pkg := range prog.AllPackages() {
			if _, ok := sdkServices[pkg.Pkg.Path()]; ok {
				if client := pkg.Pkg.Scope().Lookup("Client"); client != nil {
					p.concrete = append(p.concrete, types.NewPointer(client.Type()))
				}
			}
		}
		for _, sp := range ssaPkgs {
			if sp == nil {
				continue
			}
			p.pkgs[sp.Pkg.Path()] = sp
			for _, m := range sp.Members {
				if tn, ok := m.(*ssa.Type); ok {
					p.concrete = append(p.concrete, tn.Type(), types.NewPointer(tn.Type()))
				}
			}
		}
		for fn := range ssautil.AllFunctions(prog) {
			if fn.Pkg == nil || !strings.HasPrefix(fn.Pkg.Pkg.Path(), modulePath) {
				continue
			}
			for _, b := range fn.Blocks {
				for _, instr := range b.Instrs {
					st, ok := instr.(*ssa.Store)
					if !ok {
						continue
					}
					fa, ok := st.Addr.(*ssa.FieldAddr)
					if !ok {
						continue
					}
					field := structOf(fa.X.Type()).Field(fa.Field)
					for _, f := range funcsOf(st.Val) {
						p.fieldFuncs[field] = append(p.fieldFuncs[field], f)
					}
				}
			}
		}
		programVal = p
	})
	if programErr != nil {
		t.Fatalf("load refx's packages for the analysis: %v", programErr)
	}
	return programVal
}

type loadError string

func (e loadError) Error() string { return string(e) }

const errFailedLoad = loadError("the packages have errors (printed above)")

func structOf(t types.Type) *types.Struct {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	return t.Underlying().(*types.Struct)
}

// funcsOf returns the functions a value may be: a function, a closure or
// bound method, through conversions.
func funcsOf(v ssa.Value) []*ssa.Function {
	switch v := v.(type) {
	case *ssa.Function:
		return []*ssa.Function{v}
	case *ssa.MakeClosure:
		return []*ssa.Function{v.Fn.(*ssa.Function)}
	case *ssa.ChangeType:
		return funcsOf(v.X)
	case *ssa.MakeInterface:
		return funcsOf(v.X)
	case *ssa.Convert:
		return funcsOf(v.X)
	case *ssa.Call:
		// A handler factory (s.setStatus(to)): its body makes the handler.
		// A middleware (s.public(s.assign)) also runs the handler it is
		// given.
		if callee := v.Call.StaticCallee(); callee != nil {
			out := []*ssa.Function{callee}
			for _, a := range v.Call.Args {
				out = append(out, funcsOf(a)...)
			}
			return out
		}
	}
	return nil
}

// reach returns the IAM actions of the SDK calls reachable from roots.
//
// Edges: static calls; interface calls, to every refx type (or SDK client)
// implementing the interface; closures and function values, to the function
// that makes or names them (a store method's retry closure runs on its
// behalf), except those only kept in a struct field; and calls of a
// func-typed field, to every function stored into that field. Calls of
// other function values (the retry helper calling its closure argument) are
// not followed: their targets are reached from the functions that made them,
// which keeps one route from inheriting every other route's operations.
//
// It returns each action with the call path that reaches it, for the
// failure messages.
func (p *program) reach(roots []*ssa.Function) map[string]string {
	actions := map[string]string{}
	parent := map[*ssa.Function]*ssa.Function{}
	path := func(fn *ssa.Function) string {
		var names []string
		for f := fn; f != nil && len(names) < 12; f = parent[f] {
			names = append(names, f.String())
		}
		slices.Reverse(names)
		return strings.Join(names, " → ")
	}
	add := func(action string, fn *ssa.Function) {
		if _, ok := actions[action]; !ok {
			actions[action] = path(fn)
		}
	}
	seen := map[*ssa.Function]bool{}
	queue := slices.Clone(roots)
	var from *ssa.Function
	push := func(fns ...*ssa.Function) {
		for _, f := range fns {
			if f != nil && !seen[f] {
				if _, ok := parent[f]; !ok && !slices.Contains(roots, f) {
					parent[f] = from
				}
				queue = append(queue, f)
			}
		}
	}
	for len(queue) > 0 {
		fn := queue[0]
		queue = queue[1:]
		if fn == nil || seen[fn] {
			continue
		}
		seen[fn] = true
		from = fn
		// A function that aims a query at an index (sets IndexName) makes
		// an index query wherever the input is finally sent: a shared
		// query helper (pagination, retries) sends table and index
		// queries alike.
		if storesIndexName(fn) {
			add(indexQuery, fn)
		}
		if action, ok := sdkAction(fn); ok {
			switch action {
			case "dynamodb:Query", "dynamodb:Scan":
				// Table or index: decided at the call site, below.
			case "dynamodb:TransactWriteItems":
				// Its items' actions (the Alloc case below).
			case "dynamodb:TransactGetItems":
				add("dynamodb:GetItem", fn)
			default:
				add(action, fn)
			}
			continue
		}
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch instr := instr.(type) {
				case ssa.CallInstruction:
					c := instr.Common()
					switch {
					case c.IsInvoke():
						push(p.implementations(c.Value.Type(), c.Method)...)
					case c.StaticCallee() != nil:
						callee := c.StaticCallee()
						if action, ok := sdkAction(callee); ok && (action == "dynamodb:Query" || action == "dynamodb:Scan") {
							if setsIndexName(fn) {
								add(indexQuery, fn)
							} else {
								add(action, fn)
							}
						}
						push(callee)
					default:
						if field := loadedField(c.Value); field != nil {
							push(p.fieldFuncs[field]...)
						}
					}
				case *ssa.Alloc:
					if name, ok := namedIn(instr.Type().(*types.Pointer).Elem(), "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"); ok {
						if action, ok := transactItems[name]; ok {
							add("dynamodb:"+action, fn)
						}
					}
				case *ssa.MakeClosure:
					if !onlyStoredInFields(instr) {
						push(instr.Fn.(*ssa.Function))
					}
					continue
				case *ssa.Store:
					if _, ok := instr.Addr.(*ssa.FieldAddr); ok {
						continue // a function value kept in a field: followed where the field is called
					}
				case *ssa.UnOp, *ssa.Field:
					if key, ok := p.keyField(instr.(ssa.Value)); ok {
						add(usesKey+key, fn)
					}
				}
				for _, op := range instr.Operands(nil) {
					if op != nil && *op != nil {
						if f, ok := (*op).(*ssa.Function); ok {
							push(f)
						}
					}
				}
			}
		}
		push(fn.AnonFuncs...)
	}
	return actions
}

// onlyStoredInFields reports whether a closure is only kept in struct fields
// (Server.Ping = store.Ping): it runs where the field is called, not where
// it is made.
func onlyStoredInFields(mc *ssa.MakeClosure) bool {
	refs := mc.Referrers()
	if refs == nil || len(*refs) == 0 {
		return false
	}
	for _, r := range *refs {
		st, ok := r.(*ssa.Store)
		if !ok || st.Val != ssa.Value(mc) {
			return false
		}
		if _, ok := st.Addr.(*ssa.FieldAddr); !ok {
			return false
		}
	}
	return true
}

// sdkAction is the IAM action of an AWS SDK client method.
func sdkAction(fn *ssa.Function) (string, bool) {
	recv := fn.Signature.Recv()
	if recv == nil {
		return "", false
	}
	name, ok := namedIn(recv.Type(), "")
	if !ok || name != "Client" {
		return "", false
	}
	t := recv.Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	service, ok := sdkServices[t.(*types.Named).Obj().Pkg().Path()]
	if !ok || !fn.Object().Exported() {
		return "", false
	}
	return service + ":" + fn.Name(), true
}

// namedIn returns the name of t (or *t) when it is a named type of package
// path ("" for any package).
func namedIn(t types.Type, path string) (string, bool) {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil || (path != "" && n.Obj().Pkg().Path() != path) {
		return "", false
	}
	return n.Obj().Name(), true
}

// setsIndexName reports whether fn, or the function whose closure it is,
// sets the IndexName of a QueryInput or ScanInput: the query goes to an index.
func setsIndexName(fn *ssa.Function) bool {
	for f := fn; f != nil; f = f.Parent() {
		if storesIndexName(f) {
			return true
		}
	}
	return false
}

// storesIndexName reports whether f itself sets the IndexName of a
// QueryInput or ScanInput to a non-nil value.
func storesIndexName(f *ssa.Function) bool {
	for _, b := range f.Blocks {
		for _, instr := range b.Instrs {
			st, ok := instr.(*ssa.Store)
			if !ok {
				continue
			}
			fa, ok := st.Addr.(*ssa.FieldAddr)
			if !ok || structOf(fa.X.Type()).Field(fa.Field).Name() != "IndexName" {
				continue
			}
			if name, ok := namedIn(fa.X.Type(), "github.com/aws/aws-sdk-go-v2/service/dynamodb"); ok && (name == "QueryInput" || name == "ScanInput") {
				if c, ok := st.Val.(*ssa.Const); !ok || c.Value != nil {
					return true
				}
			}
		}
	}
	return false
}

// loadedField returns the struct field a called function value was loaded
// from, if it was.
func loadedField(v ssa.Value) *types.Var {
	if u, ok := v.(*ssa.UnOp); ok {
		if fa, ok := u.X.(*ssa.FieldAddr); ok {
			return structOf(fa.X.Type()).Field(fa.Field)
		}
	}
	if f, ok := v.(*ssa.Field); ok {
		return structOf(f.X.Type()).Field(f.Field)
	}
	return nil
}

// implementations are the methods named method of every refx type
// implementing the interface iface.
func (p *program) implementations(iface types.Type, method *types.Func) []*ssa.Function {
	it, ok := iface.Underlying().(*types.Interface)
	if !ok {
		return nil
	}
	var out []*ssa.Function
	for _, t := range p.concrete {
		if types.IsInterface(t) || !types.Implements(t, it) {
			continue
		}
		if fn := p.prog.LookupMethod(t, method.Pkg(), method.Name()); fn != nil {
			out = append(out, fn)
		}
	}
	return out
}

// keyField reports whether v loads a key field of httpapi.Server (see
// keyFields), and which key.
func (p *program) keyField(v ssa.Value) (string, bool) {
	var x ssa.Value
	var index int
	switch v := v.(type) {
	case *ssa.UnOp:
		fa, ok := v.X.(*ssa.FieldAddr)
		if !ok {
			return "", false
		}
		x, index = fa.X, fa.Field
	case *ssa.Field:
		x, index = v.X, v.Field
	default:
		return "", false
	}
	if name, ok := namedIn(x.Type(), modulePath+"/pkg/httpapi"); !ok || name != "Server" {
		return "", false
	}
	key, ok := keyFields[structOf(x.Type()).Field(index).Name()]
	return key, ok
}

// guardedRoutes returns, per "METHOD /path" pattern Handler registers, the
// keys its registration is made from: a route wrapped in a check built from
// Server.AdminKey (requireRole, requireLamedKey, or a helper closure that
// applies one) uses the admin key although its handler never reads it.
// Values are followed through calls (keyMatcher(s.AdminKey)), closures'
// bindings (and the cells of captured variables) and conversions, within
// the route registrars (routeRegistrars) and their closures.
func (p *program) guardedRoutes(t *testing.T) map[string]map[string]bool {
	t.Helper()
	registrars := p.routeRegistrars(t)
	pattern := regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /`)
	memo := map[ssa.Value]map[string]bool{}
	var keysOf func(v ssa.Value) map[string]bool
	keysOf = func(v ssa.Value) map[string]bool {
		if k, ok := memo[v]; ok {
			return k
		}
		out := map[string]bool{}
		memo[v] = out // cycles (phis) end here
		if key, ok := p.keyField(v); ok {
			out[key] = true
		}
		var from []ssa.Value
		switch v := v.(type) {
		case *ssa.Call:
			from = append(from, v.Call.Args...)
			if !v.Call.IsInvoke() {
				from = append(from, v.Call.Value)
			}
		case *ssa.MakeClosure:
			from = v.Bindings
		case *ssa.ChangeType:
			from = []ssa.Value{v.X}
		case *ssa.MakeInterface:
			from = []ssa.Value{v.X}
		case *ssa.Convert:
			from = []ssa.Value{v.X}
		case *ssa.Phi:
			from = v.Edges
		case *ssa.UnOp:
			from = []ssa.Value{v.X}
		case *ssa.Alloc:
			// A variable a closure captures lives in a cell: what is
			// stored in it.
			for _, r := range *v.Referrers() {
				if st, ok := r.(*ssa.Store); ok && st.Addr == ssa.Value(v) {
					from = append(from, st.Val)
				}
			}
		}
		for _, f := range from {
			for k := range keysOf(f) {
				out[k] = true
			}
		}
		return out
	}
	out := map[string]map[string]bool{}
	var visit func(fn *ssa.Function)
	visit = func(fn *ssa.Function) {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				call, ok := instr.(ssa.CallInstruction)
				if !ok {
					continue
				}
				c := call.Common()
				for i, a := range c.Args {
					k, ok := a.(*ssa.Const)
					if !ok || k.Value == nil || k.Value.Kind() != constant.String || !pattern.MatchString(constant.StringVal(k.Value)) {
						continue
					}
					keys := map[string]bool{}
					from := slices.Clone(c.Args[i+1:])
					if !c.IsInvoke() {
						from = append(from, c.Value)
					}
					for _, v := range from {
						for key := range keysOf(v) {
							keys[key] = true
						}
					}
					out[constant.StringVal(k.Value)] = keys
				}
			}
		}
		for _, anon := range fn.AnonFuncs {
			visit(anon)
		}
	}
	for _, r := range registrars {
		visit(r)
	}
	return out
}

// routeRegistrars returns the methods of httpapi.Server that register a
// route group's routes on a mux (one per group: Handler and Serve compose
// them, so that a Lambda links only its own groups' code).
func (p *program) routeRegistrars(t *testing.T) []*ssa.Function {
	t.Helper()
	srv := p.pkgs[modulePath+"/pkg/httpapi"].Type("Server")
	if srv == nil {
		t.Fatal("no httpapi.Server")
	}
	var out []*ssa.Function
	mset := p.prog.MethodSets.MethodSet(types.NewPointer(srv.Type()))
	for sel := range mset.Methods() {
		params := sel.Type().(*types.Signature).Params()
		if params.Len() != 1 {
			continue
		}
		if name, ok := namedIn(params.At(0).Type(), "net/http"); ok && name == "ServeMux" {
			out = append(out, p.prog.MethodValue(sel))
		}
	}
	if len(out) == 0 {
		t.Fatal("no method of httpapi.Server registers routes on an *http.ServeMux: has the composition moved?")
	}
	return out
}

// routeHandlers returns, per "METHOD /path" pattern Handler registers, the
// functions serving it: the handler method (through its bound-method
// wrapper) or the factory that makes it.
func (p *program) routeHandlers(t *testing.T) map[string][]*ssa.Function {
	t.Helper()
	registrars := p.routeRegistrars(t)
	pattern := regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /`)
	out := map[string][]*ssa.Function{}
	var visit func(fn *ssa.Function)
	visit = func(fn *ssa.Function) {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				call, ok := instr.(ssa.CallInstruction)
				if !ok {
					continue
				}
				args := call.Common().Args
				for i, a := range args {
					c, ok := a.(*ssa.Const)
					if !ok || c.Value == nil || c.Value.Kind() != constant.String || !pattern.MatchString(constant.StringVal(c.Value)) {
						continue
					}
					key := constant.StringVal(c.Value)
					out[key] = nil
					for _, h := range args[i+1:] {
						out[key] = append(out[key], funcsOf(h)...)
					}
				}
			}
		}
		for _, anon := range fn.AnonFuncs {
			visit(anon)
		}
	}
	for _, r := range registrars {
		visit(r)
	}
	return out
}

// streamEntries are the stream functions' code: the package whose
// LambdaHandler builds the handler, and the type whose Handle method
// each batch runs.
var streamEntries = map[string]struct{ pkg, handler string }{
	"export":    {"pkg/export", "Exporter"},
	"aggregate": {"pkg/aggregate", "Handler"},
}

// TestGrantsMatchCode derives each function's IAM actions from its code and
// compares them with infra/functions.go, both ways: every DynamoDB, S3 and
// Secrets Manager call reachable from a function's routes (or its schedule,
// or its stream handler) is granted, and nothing unreachable is. A route
// calling a new store operation fails here, not with AccessDenied in AWS;
// an operation no longer used fails here too, and its grant goes.
//
// Actions that several resources share are compared per resource: table
// and index queries, and GetSecretValue per key (a function is granted the
// admin key's secret only when a route of it checks the admin key, the hash
// key's only when its code hashes with that key), so that granting a
// function the other key's secret fails even though the action is the same.
func TestGrantsMatchCode(t *testing.T) {
	p := loadProgram(t)
	routes := p.routeHandlers(t)
	guarded := p.guardedRoutes(t)
	groupOf := map[string]httpapi.Routes{}
	for _, r := range httpapi.RouteTable() {
		groupOf[r.String()] = r.Group
	}
	for key, fns := range routes {
		if _, ok := groupOf[key]; !ok {
			t.Errorf("Handler registers %s, which RouteTable does not list", key)
		}
		if len(fns) == 0 && !strings.HasPrefix(key, "GET /v1/refx.") {
			t.Logf("note: %s is served by no function the analysis can see (a static handler?)", key)
		}
	}
	fn := func(pkg, name string) *ssa.Function {
		sp := p.pkgs[modulePath+"/"+pkg]
		if sp == nil || sp.Func(name) == nil {
			t.Fatalf("no function %s.%s: has the entry point moved?", pkg, name)
		}
		return sp.Func(name)
	}
	for _, f := range functions {
		t.Run(f.Name, func(t *testing.T) {
			var roots []*ssa.Function
			switch {
			case f.Routes != 0:
				roots = append(roots, fn("pkg/app", "New"))
				for key, fns := range routes {
					if groupOf[key]&f.Routes != 0 {
						roots = append(roots, fns...)
					}
				}
			case f.Schedule != nil:
				roots = append(roots, fn(cmp.Or(f.Schedule.Package, "pkg/app"), f.Schedule.Handler))
			case f.Queue:
				roots = append(roots, fn("pkg/sqs", "LambdaHandler"))
				typ := p.pkgs[modulePath+"/pkg/sqs"].Type("Handler")
				roots = append(roots, p.prog.LookupMethod(types.NewPointer(typ.Type()), typ.Package().Pkg, "Handle"))
			case f.Stream != nil:
				entry, ok := streamEntries[f.Name]
				if !ok {
					t.Fatalf("stream function %s has no entry in streamEntries", f.Name)
				}
				roots = append(roots, fn(entry.pkg, "LambdaHandler"))
				typ := p.pkgs[modulePath+"/"+entry.pkg].Type(entry.handler)
				if typ == nil {
					t.Fatalf("no type %s.%s: has the stream handler moved?", entry.pkg, entry.handler)
				}
				roots = append(roots, p.prog.LookupMethod(types.NewPointer(typ.Type()), typ.Package().Pkg, "Handle"))
			}
			reached := p.reach(roots)
			// The keys the function uses: read by its code, or guarding
			// one of its routes.
			keys := map[string]string{}
			for a, path := range reached {
				if key, ok := strings.CutPrefix(a, usesKey); ok {
					keys[key] = path
					delete(reached, a)
				}
			}
			if f.Routes != 0 {
				for key, used := range guarded {
					if groupOf[key]&f.Routes == 0 {
						continue
					}
					for k := range used {
						if _, ok := keys[k]; !ok {
							keys[k] = "Handler registers " + key + " behind a check of the " + k
						}
					}
				}
			}
			// Reading a secret is granted per secret: the action alone
			// would let one function read the other's key. app.New reads
			// the secrets the environment names, and the stack names a
			// secret exactly when it grants it (TestFunctions), so the
			// secrets its reading needs are those of the keys used; a
			// function using no key needs none.
			if path, ok := reached[getSecret]; ok && strings.Contains(path, "pkg/app.keysFromSecrets") {
				delete(reached, getSecret)
				for k, use := range keys {
					reached[getSecret+"("+k+")"] = path + "\n\tand uses the key: " + use
				}
			}
			got := map[string]bool{}
			for a := range reached {
				got[a] = true
			}
			want := map[string]bool{}
			for _, a := range f.Access.Table {
				want["dynamodb:"+a] = true
			}
			for _, a := range f.Access.Indexes {
				if a != "Query" {
					t.Errorf("index action %s: the analysis knows index queries only", a)
				}
				want[indexQuery] = true
			}
			if f.Access.Export {
				want["s3:PutObject"] = true
			}
			if f.Access.Compact {
				// s3:ListBucket in IAM, on the bucket (compact.go).
				want["s3:ListObjectsV2"] = true
				want["s3:GetObject"] = true
				want["s3:DeleteObject"] = true
			}
			if f.Access.AdminKey {
				want[getSecret+"(admin-key)"] = true
			}
			if f.Access.HashKey {
				want[getSecret+"(hash-key)"] = true
			}
			var missing, extra []string
			for a := range got {
				if !want[a] {
					missing = append(missing, a)
				}
			}
			for a := range want {
				if !got[a] {
					extra = append(extra, a)
				}
			}
			sort.Strings(missing)
			sort.Strings(extra)
			for _, a := range missing {
				t.Errorf("the code calls %s but the function is not granted it: add it to the function's access in infra/functions.go\n\treached by %s", a, reached[a])
			}
			if len(extra) > 0 {
				t.Errorf("granted %v but no code path of the function calls it (or uses the secret's key): remove it from infra/functions.go", extra)
			}
			t.Logf("%s: %v", f.Name, sortedKeys(got))
		})
	}
}
