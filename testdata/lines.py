"""Transcript lines as Claude Code writes them, for the fixture generators in this folder."""
import json, os


def dump(o, spaced=False):
    if spaced:
        return json.dumps(o, ensure_ascii=False)
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


def env(uuid, session, ts, cwd, version="2.1.39", **extra):
    e = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": cwd,
         "sessionId": session, "version": version, "gitBranch": "main"}
    e.update(extra)
    e.update({"uuid": uuid, "timestamp": ts})
    return e


def assistant(uuid, session, ts, cwd, msg_id, req_id, model, content, out, stop=None, version="2.1.39", **extra):
    e = env(uuid, session, ts, cwd, version, **extra)
    e["message"] = {"model": model, "id": msg_id, "type": "message", "role": "assistant",
                    "content": content, "stop_reason": stop, "stop_sequence": None,
                    "usage": {"input_tokens": 3, "cache_creation_input_tokens": 1200,
                              "cache_read_input_tokens": 15000, "output_tokens": out,
                              "service_tier": "standard"}}
    if req_id is not None:
        e["requestId"] = req_id
    e["type"] = "assistant"
    return e


def api_error(uuid, session, ts, cwd, text, code=None, status=None, version="2.1.39"):
    e = env(uuid, session, ts, cwd, version)
    e["message"] = {"id": uuid.replace("e", "f"), "model": "<synthetic>", "role": "assistant",
                    "type": "message", "stop_reason": "stop_sequence", "stop_sequence": "",
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                    "content": [{"type": "text", "text": text}]}
    e["type"] = "assistant"
    e["isApiErrorMessage"] = True
    if code:
        e["error"] = code
    if status:
        e["apiErrorStatus"] = status
    return e


def retry(uuid, session, ts, cwd, status, body, attempt, version="2.1.39"):
    e = env(uuid, session, ts, cwd, version)
    e.update({"type": "system", "subtype": "api_error", "level": "error",
              "error": {"status": status, "headers": {}, "requestID": None, "error": body},
              "retryInMs": 500 * 2 ** (attempt - 1), "retryAttempt": attempt, "maxRetries": 10})
    return e


def user(uuid, session, ts, cwd, content, meta=False, version="2.1.39"):
    e = env(uuid, session, ts, cwd, version)
    e["type"] = "user"
    e["message"] = {"role": "user", "content": content}
    if meta:
        e["isMeta"] = True
    return e


def text(s):
    return [{"type": "text", "text": s}]


def write(home, path, lines, bom=False, final_newline=True, crlf_at=None):
    path = os.path.join(home, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = b"\xef\xbb\xbf" if bom else b""
    for i, l in enumerate(lines):
        b = l if isinstance(l, bytes) else l.encode("utf-8")
        end = b"\r\n" if crlf_at == i else b"\n"
        data += b + (end if (i < len(lines) - 1 or final_newline) else b"")
    with open(path, "wb") as f:
        f.write(data)


def agent(l, agent_id):
    l["isSidechain"] = True
    l["agentId"] = agent_id
    return l
