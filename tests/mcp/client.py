"""A scripted MCP client for berth's tests: the official MCP Python SDK
(`mcp` from PyPI) drives `berth mcp` as any agent's client would.

Usage: client.py MODE -- SERVER_COMMAND...   (MODE: legacy or auto)

Reads one JSON request a line on stdin and answers one JSON line each:
  {"op": "info"}                      -> {"server": {...}, "protocol", "tools", "instructions"}
  {"op": "list_tools"}                -> {"tools": [{"name", "annotations", "input_schema", "output_schema"}]}
  {"op": "call", "tool": T, "args": {...}, "progress": true}
                                      -> {"is_error", "structured", "text", "progress": [...]}
A failure of the protocol itself is {"protocol_error": "..."}.
"""

import asyncio
import json
import os
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters


def dump(model):
    return None if model is None else model.model_dump(mode="json", exclude_none=True, by_alias=True)


async def answer(client, request):
    op = request["op"]
    if op == "info":
        return {
            "server": dump(client.server_info),
            "protocol": client.protocol_version,
            "tools": client.server_capabilities.tools is not None,
            "instructions": client.instructions,
        }
    if op == "list_tools":
        listed = await client.list_tools()
        return {
            "tools": [
                {
                    "name": t.name,
                    "annotations": dump(t.annotations),
                    "input_schema": t.input_schema,
                    "output_schema": t.output_schema,
                    "description": t.description,
                }
                for t in listed.tools
            ]
        }
    if op == "call":
        progress = []

        async def on_progress(value, total, message):
            progress.append({"progress": value, "total": total, "message": message})

        result = await client.call_tool(
            request["tool"],
            request.get("args", {}),
            progress_callback=on_progress if request.get("progress") else None,
        )
        text = "".join(getattr(c, "text", "") for c in result.content)
        return {
            "is_error": bool(result.is_error),
            "structured": result.structured_content,
            "text": text,
            "progress": progress,
        }
    raise ValueError(f"unknown op {op!r}")


async def main():
    mode = sys.argv[1]
    command = sys.argv[sys.argv.index("--") + 1 :]
    # The whole environment: the server finds sessions as the test set up.
    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    loop = asyncio.get_running_loop()
    async with Client(params, mode=mode) as client:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            try:
                reply = await answer(client, json.loads(line))
            except Exception as e:  # the test reads what failed
                reply = {"protocol_error": f"{type(e).__name__}: {e}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


asyncio.run(main())
