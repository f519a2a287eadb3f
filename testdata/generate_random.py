#!/usr/bin/env python3
"""Small Claude Code config homes of one model, for differential runs and samples.

    python3 testdata/generate_random.py OUTDIR PARAMS_JSON

PARAMS_JSON (seeded: the same parameters write the same home): seed (0 when left out);
provider (api, api45, bedrock, vertex, arn; bedrock when left out); n requests over
`sessions` sessions at max output `value` (a settings.json sets it); `cuts` responses cut at it; `thr_frac` of the requests refused 1 to
`thr_max` times before they get through. Those 429s are drawn at random, not from the
requests' load: throttling the history's own load does not explain (another's load on a
shared quota). The parameters are written beside the home (params.json).
"""
import json, os, random, sys, uuid as U, datetime as DT

MODELS = {
    "api": "claude-sonnet-4-20250514",
    "api45": "claude-sonnet-4-5-20250929",
    "bedrock": "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "vertex": "claude-sonnet-4@20250514",
    "arn": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123xyz",
}
T429 = {
    "api": {"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}},
    "bedrock": {"message": "Too many tokens, please wait before trying again."},
    "vertex": {"error": {"code": 429, "message": "Quota exceeded for aiplatform.googleapis.com/online_prediction_tokens_per_minute_per_base_model", "status": "RESOURCE_EXHAUSTED"}},
}
T429FINAL = {
    "api": 'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}',
    "bedrock": "API Error: 429 Too many tokens, please wait before trying again.",
    "vertex": 'API Error: 429 {"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/online_prediction_tokens_per_minute_per_base_model","status":"RESOURCE_EXHAUSTED"}}',
}
CUTMSG = ("API Error: Claude's response exceeded the {} output token maximum. To configure this behavior, "
          "set the CLAUDE_CODE_MAX_OUTPUT_TOKENS environment variable.")


def iso(ms):
    return DT.datetime.fromtimestamp(ms / 1000, DT.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def gen(out, p):
    rnd = random.Random(p.get("seed", 0))
    prov = p.get("provider", "bedrock")
    if prov not in MODELS:
        sys.exit(f"generate_random.py: provider {prov!r} is not one of {', '.join(MODELS)}")
    fam = "bedrock" if prov in ("bedrock", "arn") else ("vertex" if prov == "vertex" else "api")
    model = MODELS[prov]
    value = p.get("value")
    default = 32000
    limit = value if value else default
    cap = p.get("cap", 64000)
    limit = min(limit, cap) if prov != "arn" else limit
    os.makedirs(out, exist_ok=True)
    env = {}
    if fam == "bedrock":
        env["CLAUDE_CODE_USE_BEDROCK"] = "1"
        env["AWS_REGION"] = "us-east-1"
    if fam == "vertex":
        env["CLAUDE_CODE_USE_VERTEX"] = "1"
    if value:
        env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(value)
    if env or p.get("settings_always"):
        with open(os.path.join(out, "settings.json"), "w") as f:
            json.dump({"env": env}, f, indent=2)
    n = p["n"]
    sessions = p.get("sessions", 1)
    cuts = set(rnd.sample(range(n), min(p.get("cuts", 0), n)))
    longs = set(rnd.sample(sorted(set(range(n)) - cuts), min(p.get("longs", 0), n - len(cuts))))
    thr_frac = p.get("thr_frac", 0.0)
    thr_max = p.get("thr_max", 0)
    gaveup = p.get("gaveup", 0)
    gave = set(rnd.sample(sorted(set(range(n)) - cuts - longs), min(gaveup, n - len(cuts) - len(longs))))
    base = int(DT.datetime(2026, 12, 5, 9, 0, tzinfo=DT.timezone.utc).timestamp() * 1000)
    version = p.get("version", "2.1.150")
    per = [[] for _ in range(sessions)]
    for i in range(n):
        per[i % sessions].append(i)
    cwd = "/home/u/app"
    for s in range(sessions):
        sid = str(U.UUID(int=rnd.getrandbits(128), version=4))
        t = base + s * rnd.randint(0, 20000)
        lines = []
        parent = None
        def add(d):
            nonlocal parent
            d.setdefault("parentUuid", parent)
            d.update({"isSidechain": False, "userType": "external", "cwd": cwd, "sessionId": sid,
                      "version": version, "gitBranch": "main"})
            d.setdefault("uuid", str(U.UUID(int=rnd.getrandbits(128), version=4)))
            parent = d["uuid"]
            lines.append(d)
        for i in per[s]:
            add({"type": "user", "message": {"role": "user", "content": f"Request {i}: continue the work."}, "timestamp": iso(t)})
            # throttling
            k = 0
            if i in gave:
                k = 10
            elif thr_max and rnd.random() < thr_frac:
                k = rnd.randint(1, thr_max)
            for a in range(1, k + 1):
                ra = 500 * 2 ** (a - 1)
                add({"type": "system", "subtype": "api_error", "level": "error",
                     "error": {"status": 429, "headers": {}, "requestID": None, "error": T429[fam]},
                     "retryInMs": min(ra, 32000), "retryAttempt": a, "maxRetries": 10, "timestamp": iso(t)})
                t += min(ra, 32000)
            if i in gave:
                add({"type": "assistant", "isApiErrorMessage": True, "error": "rate_limit", "apiErrorStatus": 429,
                     "message": {"id": str(U.UUID(int=rnd.getrandbits(128), version=4)), "model": "<synthetic>", "role": "assistant", "type": "message",
                                 "stop_reason": "stop_sequence", "stop_sequence": "", "usage": {"input_tokens": 0, "output_tokens": 0},
                                 "content": [{"type": "text", "text": T429FINAL[fam]}]}, "timestamp": iso(t + 100)})
                t += rnd.randint(20000, 90000)
                continue
            if i in cuts:
                outt = limit
            elif i in longs:
                outt = rnd.randint(p.get("long_lo", 33000), p.get("long_hi", max(34000, min(limit - 1, 60000))))
            else:
                outt = min(int(rnd.lognormvariate(p.get("mu", 6.2), p.get("sigma", 1.1))) + 5, limit - 1)
            dur = 1500 + outt * 15  # ms
            style = p.get("cut_style", "stop")
            if i in cuts and style == "err":
                t += dur
                add({"type": "assistant", "isApiErrorMessage": True, "error": "max_output_tokens",
                     "message": {"id": str(U.UUID(int=rnd.getrandbits(128), version=4)), "model": "<synthetic>", "role": "assistant", "type": "message",
                                 "stop_reason": "stop_sequence", "stop_sequence": "", "usage": {"input_tokens": 0, "output_tokens": 0},
                                 "content": [{"type": "text", "text": CUTMSG.format(limit)}]}, "timestamp": iso(t)})
                t += rnd.randint(20000, 90000)
                continue
            t += dur
            mid = "msg_%024x" % rnd.getrandbits(96)
            rid = "req_%024x" % rnd.getrandbits(96)
            stop = "max_tokens" if i in cuts else "end_turn"
            add({"type": "assistant", "requestId": rid,
                 "message": {"model": model, "id": mid, "type": "message", "role": "assistant",
                             "content": [{"type": "text", "text": "x" * min(outt * 3, 4000)}], "stop_reason": stop, "stop_sequence": None,
                             "usage": {"input_tokens": 3, "cache_creation_input_tokens": p.get("cc", 1200),
                                       "cache_read_input_tokens": p.get("cr", 15000), "output_tokens": outt, "service_tier": "standard"}},
                 "timestamp": iso(t)})
            if i in cuts and style == "both":
                add({"type": "assistant", "isApiErrorMessage": True, "error": "max_output_tokens",
                     "message": {"id": str(U.UUID(int=rnd.getrandbits(128), version=4)), "model": "<synthetic>", "role": "assistant", "type": "message",
                                 "stop_reason": "stop_sequence", "stop_sequence": "", "usage": {"input_tokens": 0, "output_tokens": 0},
                                 "content": [{"type": "text", "text": CUTMSG.format(limit)}]}, "timestamp": iso(t + 50)})
            t += rnd.randint(p.get("gap_lo", 5000), p.get("gap_hi", 60000))
        d = os.path.join(out, "projects", "-home-u-app")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, sid + ".jsonl"), "w") as f:
            for l in lines:
                f.write(json.dumps(l, separators=(",", ":")) + "\n")
        # old-version subagents
        if p.get("subagents") and s == 0:
            for a in range(p["subagents"]):
                aid = "a%06x" % rnd.getrandbits(24)
                al = []
                ta = base + 30000 + a * 40000
                par = None
                for j in range(2):
                    uid = str(U.UUID(int=rnd.getrandbits(128), version=4))
                    al.append({"parentUuid": par, "isSidechain": True, "userType": "external", "cwd": cwd, "sessionId": sid,
                               "version": p.get("sub_version", "2.0.30"), "gitBranch": "main", "agentId": aid, "type": "user",
                               "message": {"role": "user", "content": "Explore a part."}, "uuid": uid, "timestamp": iso(ta)})
                    ta += 4000
                    par = uid
                    uid = str(U.UUID(int=rnd.getrandbits(128), version=4))
                    o = rnd.randint(100, 3000)
                    al.append({"parentUuid": par, "isSidechain": True, "userType": "external", "cwd": cwd, "sessionId": sid,
                               "version": p.get("sub_version", "2.0.30"), "gitBranch": "main", "agentId": aid, "type": "assistant",
                               "requestId": "req_%024x" % rnd.getrandbits(96),
                               "message": {"model": model, "id": "msg_%024x" % rnd.getrandbits(96), "type": "message", "role": "assistant",
                                           "content": [{"type": "text", "text": "y" * min(o * 3, 3000)}], "stop_reason": "end_turn", "stop_sequence": None,
                                           "usage": {"input_tokens": 3, "cache_creation_input_tokens": 500, "cache_read_input_tokens": 8000, "output_tokens": o}},
                               "uuid": uid, "timestamp": iso(ta)})
                    par = uid
                    ta += 3000
                with open(os.path.join(d, f"agent-{aid}.jsonl"), "w") as f:
                    for l in al:
                        f.write(json.dumps(l, separators=(",", ":")) + "\n")
    with open(os.path.join(out, "params.json"), "w") as f:
        json.dump(p, f)


if __name__ == "__main__":
    gen(sys.argv[1], json.loads(sys.argv[2]))
