#!/usr/bin/env bash
# npm run test:clients-latest: installs the newest releases on the registry of the clients people
# point at spillway (Claude Code, Codex, the Anthropic SDK, the OpenAI SDK and Agents SDK, the Vercel AI SDK,
# @google/genai, Gemini CLI) into a
# scratch folder, and runs the client integration tests against them (SPILLWAY_CLIENTS_DIR tells
# the tests where to load them from), so the next breaking release is caught here, not by users.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="$PWD/test-output/clients-latest"
mkdir -p "$dir"
[ -f "$dir/package.json" ] || printf '{ "name": "spillway-clients-latest", "private": true, "type": "module" }\n' >"$dir/package.json"

clients=(@anthropic-ai/claude-code @anthropic-ai/sdk openai ai @ai-sdk/anthropic @ai-sdk/openai @openai/agents @openai/codex @google/genai @google/gemini-cli)
echo "Installing the newest ${clients[*]} into $dir"
(cd "$dir" && npm install --no-progress --no-audit --no-fund --no-package-lock --loglevel=error "${clients[@]/%/@latest}")
for name in "${clients[@]}"; do
  printf '    %s %s\n' "$name" "$(node -p "require('$dir/node_modules/$name/package.json').version")"
done

SPILLWAY_CLIENTS_DIR="$dir" node --import tsx --test --test-concurrency=1 \
  test/integration/clients.test.ts test/integration/passthrough.test.ts test/integration/claude-code.test.ts \
  test/integration/responses.test.ts test/integration/responses-clients.test.ts \
  test/integration/gemini-surface.test.ts test/integration/gemini-passthrough.test.ts test/integration/gemini-cli.test.ts test/integration/embeddings.test.ts
