#!/bin/sh
# Evaluate any OpenAI-compatible chat model (hosted, vLLM, Ollama) on opsdesk.
# The key is read from OPENAI_API_KEY; the loop is agentslo.agents.openai_chat:agent.
#
#   OPENAI_API_KEY=sk-... sh examples/trials/openai_chat.sh gpt-4o-mini https://api.openai.com/v1
#   sh examples/trials/openai_chat.sh qwen2.5:7b http://localhost:11434/v1     # Ollama
set -eu
MODEL="${1:?usage: openai_chat.sh MODEL BASE_URL}"
BASE_URL="${2:?usage: openai_chat.sh MODEL BASE_URL}"
agentslo trial run opsdesk --model "$MODEL" --base-url "$BASE_URL" \
    --k 4 --faults clean,api-errors:0.2,ambiguous --concurrency 8 \
    --max-cost 0.50 --db trials.duckdb
agentslo report --by agent,task_id --db trials.duckdb
