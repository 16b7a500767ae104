#!/usr/bin/env bats
# `nrun dashboard` (issue 15 item 9): the JSON API against `nrun ps`/`stats`,
# the actions over POST, and the page in a real browser (Debian's headless
# Chromium through playwright-core): worker rows, reload (new PIDs), log level.
load ../lib/common
load ../lib/runtime
load ../lib/dashboard
bats_require_minimum_version 1.5.0

setup_file() {
    nr_make_root
    rt_node_image
    rt_busybox_tar "$BATS_FILE_TMPDIR/bb.tar"
    rt_bb_image bb:1 '{"Cmd":["sh"],"Env":["PATH=/bin"]}'
    rt_run -d --name web --workers 2 --network none -v "$REPO/tests/apps:/app:ro" nd:1 node /app/obs.js >/dev/null
    for _ in $(seq 100); do
        [ "$("$NRUN" stats --json web 2>/dev/null | jq '[.workers[] | select(.state == "up")] | length')" = 2 ] && break
        sleep 0.2
    done
}

teardown_file() {
    dash_stop
    rt_rm_all
    rt_assert_clean
    nr_remove_root
}

teardown() { dash_stop; }

api() { curl -H "X-Nrun-Token: $DASH_TOKEN" -sf --max-time 10 -H "Host: $DASH_ADDR" "http://$DASH_ADDR$1"; }
post() { curl -s --max-time 30 -o /dev/null -w '%{http_code}' -H "X-Nrun-Token: $DASH_TOKEN" \
    -H 'Content-Type: application/json' -d "$2" "http://$DASH_ADDR$1"; }

@test "dashboard --help; bad --listen is a usage error" {
    run "$NRUN" dashboard --help
    [ "$status" -eq 0 ]
    [[ $output == *--listen* ]]
    run "$NRUN" dashboard --listen nowhere
    [ "$status" -eq 2 ]
    [[ $output == *"--listen nowhere"* ]]
}

@test "dashboard API: /api/containers and /api/containers/NAME agree with ps and stats" {
    dash_start --listen "127.0.0.1:$(dash_port)"
    [[ $DASH_TOKEN =~ ^[0-9a-f]{32}$ ]]
    list=$(api /api/containers)
    ps=$("$NRUN" ps -a --no-trunc --format json)
    [ "$(jq -r '.[] | select(.Name == "web") | .Id' <<<"$list")" = "$(jq -r 'select(.Names == "web") | .ID' <<<"$ps")" ]
    [ "$(jq -r '.[] | select(.Name == "web") | .Status' <<<"$list")" = running ]
    # traffic from inside (the container has no network of ours): rps, errors
    "$NRUN" exec web node -e 'for (let i = 0; i < 20; i++) fetch("http://127.0.0.1:3000/status/" + (i % 4 ? 200 : 500))' >/dev/null
    for _ in $(seq 50); do
        "$NRUN" stats --json web | jq -e '[.workers[] | select(has("rps") and has("lag_ms"))] | length > 0' >/dev/null && break
        sleep 0.2
    done
    one=$(api /api/containers/web)
    stats=$("$NRUN" stats --json web)
    [ "$(jq -c '[.Workers[].pid] | sort' <<<"$one")" = "$(jq -c '[.workers[].pid] | sort' <<<"$stats")" ]
    [ "$(jq '.Workers | length' <<<"$one")" = 2 ]
    jq -e '.Workers | all(has("cpu") and has("rss") and has("restarts") and has("state"))' <<<"$one"
    jq -e '[.Workers[] | select(has("lag_ms") and has("rps") and has("error_rate"))] | length > 0' <<<"$one"
    # a prefix of the id works as a name does; an unknown name is 404
    id=$(jq -r .Id <<<"$one")
    [ "$(api "/api/containers/${id:0:12}" | jq -r .Name)" = web ]
    [ "$(curl -H "X-Nrun-Token: $DASH_TOKEN" -s -o /dev/null -w '%{http_code}' "http://$DASH_ADDR/api/containers/nope")" = 404 ]
    # the page and its assets, with the CSP
    curl -H "X-Nrun-Token: $DASH_TOKEN" -sfi "http://$DASH_ADDR/" | grep -qi "^content-security-policy: default-src 'self'"
    curl -H "X-Nrun-Token: $DASH_TOKEN" -sf "http://$DASH_ADDR/app.js" | grep -q textContent
}

@test "dashboard API: a container's health as inspect has it" {
    rt_run -d --name sick --network none --health-cmd 'test -e /tmp/ok' --health-interval 100ms --health-retries 1 \
        bb:1 sleep 1000 >/dev/null
    for _ in $(seq 100); do [ "$("$NRUN" inspect sick | jq -r '.[0].State.Health.Status')" = unhealthy ] && break; sleep 0.1; done
    dash_start --listen "127.0.0.1:$(dash_port)"
    [ "$(curl -H "X-Nrun-Token: $DASH_TOKEN" -sf "http://$DASH_ADDR/api/containers/sick" | jq -r .Health)" = unhealthy ]
    "$NRUN" exec sick touch /tmp/ok
    for _ in $(seq 100); do [ "$("$NRUN" inspect sick | jq -r '.[0].State.Health.Status')" = healthy ] && break; sleep 0.1; done
    [ "$(curl -H "X-Nrun-Token: $DASH_TOKEN" -sf "http://$DASH_ADDR/api/containers" | jq -r '.[] | select(.Name == "sick") | .Health')" = healthy ]
    [ "$(curl -H "X-Nrun-Token: $DASH_TOKEN" -sf "http://$DASH_ADDR/api/containers/web" | jq -r .Health)" = "$("$NRUN" inspect web | jq -r '.[0].State.Health.Status // null')" ]
    # the stop button's POST: 202, then `nrun stop` runs
    [ "$(post /api/containers/sick/stop '{}')" = 202 ]
    for _ in $(seq 150); do [ "$("$NRUN" inspect sick | jq -r '.[0].State.Status')" = exited ] && break; sleep 0.2; done
    [ "$("$NRUN" inspect sick | jq -r '.[0].State.Status')" = exited ]
    [ "$(curl -H "X-Nrun-Token: $DASH_TOKEN" -sf "http://$DASH_ADDR/api/containers/sick" | jq -r '.Status + " " + (.Workers | length | tostring)')" = "exited 0" ]
    "$NRUN" rm -f sick >/dev/null
}

@test "dashboard actions: scale, loglevel, dye, logs with a stream filter" {
    dash_start --listen "127.0.0.1:$(dash_port)"
    [ "$(post /api/containers/web/scale '{"workers":3}')" = 200 ]
    for _ in $(seq 100); do [ "$("$NRUN" stats --json web | jq '.workers | length')" = 3 ] && break; sleep 0.2; done
    [ "$("$NRUN" stats --json web | jq '.workers | length')" = 3 ]
    [ "$(post /api/containers/web/loglevel '{"level":"error"}')" = 200 ]
    [ "$("$NRUN" inspect web | jq -r '.[0].Supervisor.LogLevel')" = error ]
    [ "$(post /api/containers/web/loglevel '{"level":"loud"}')" = 400 ]
    [ "$(post /api/containers/web/dye '{"rules":[{"type":"header","key":"x-debug","value":"1"}]}')" = 200 ]
    "$NR_REAL_NRUN" dye web | grep -q x-debug
    [ "$(post /api/containers/web/dye '{"off":true}')" = 200 ]
    ! "$NR_REAL_NRUN" dye web | grep -q x-debug || false
    [ "$(post /api/containers/web/scale '{"workers":2}')" = 200 ]
    # logs: every line is the log's JSON; the stream filter keeps one stream
    logs=$(api '/api/containers/web/logs?tail=500')
    [ "$(jq length <<<"$logs")" -gt 0 ]
    [ "$(api '/api/containers/web/logs?stream=stderr&tail=500' | jq '[.[] | select(.stream != "stderr")] | length')" = 0 ]
    [ "$(api '/api/containers/web/logs?stream=stdout&tail=500' | jq '[.[] | select(.stream == "stdout")] | length')" -gt 0 ]
}

@test "dashboard in a browser: worker rows, reload changes the PIDs, log level set; screenshot" {
    dash_need_browser
    "$NRUN" loglevel web info
    dash_start --listen "127.0.0.1:$(dash_port)"
    shot=$BATS_FILE_TMPDIR/dashboard.png
    out=$(dash_browser ui "http://$DASH_ADDR/?token=$DASH_TOKEN" web "$shot")
    echo "$out"
    cp "$shot" "$(dash_artifacts)/cli_dashboard.png"
    [ "$(jq -r .url <<<"$out")" = "http://$DASH_ADDR/" ]
    jq -e '.rows | index("web")' <<<"$out"
    [ "$(jq '.before | length' <<<"$out")" -ge 1 ]
    # every PID replaced, by the one reload the button started
    jq -e '(.before - .after) == .before' <<<"$out"
    [ "$(jq -c '.after' <<<"$out")" = "$("$NRUN" stats --json web | jq -c '[.workers[].pid | tostring] | sort')" ]
    [ "$("$NRUN" inspect web | jq -r '.[0].Supervisor.LogLevel')" = warn ]
    [ "$(jq '.errors | length' <<<"$out")" = 0 ]
    [ -s "$shot" ]
}
