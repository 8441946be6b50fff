// refx dashboard: experiments, results with intervals and charts, referral
// funnels, the admin actions, and the feature flags with their rules. No
// framework; every API call carries the admin key from sessionStorage as a
// bearer token.
'use strict';

(() => {
  const KEY_STORAGE = 'refx.adminKey';
  const ENGINES = [
    ['frequentist', 'Frequentist'],
    ['sequential', 'Sequential'],
    ['bayesian', 'Bayesian'],
  ];
  const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
  const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
  // The API lives where the page does: /dashboard → /, and under a path
  // prefix too.
  const apiBase = new URL('.', location.href);

  // ---------------------------------------------------------------- DOM

  // h builds an element: h('a', {href: '#/', class: 'x', onclick: f}, 'text', child).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const main = () => document.getElementById('main');

  // view starts rendering a route: it clears the page and returns a token
  // that goes stale when another route starts, so late answers of an
  // abandoned view are dropped.
  let currentView = 0;
  function view(title) {
    currentView++;
    const token = currentView;
    document.title = title ? `${title} · refx` : 'refx dashboard';
    main().replaceChildren();
    return { live: () => token === currentView };
  }

  function toast(message) {
    const t = document.getElementById('toast');
    t.textContent = message;
    t.classList.add('shown');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => t.classList.remove('shown'), 4000);
  }

  // confirmAction shows the modal dialog and resolves to true on OK.
  async function confirmAction(title, text, okLabel, danger) {
    return (await dialogAnswer(title, text, okLabel, danger, false)) !== null;
  }

  // askNote shows the modal dialog with a note field (the reason recorded
  // with a lifecycle change) and resolves to the note, or null on Cancel.
  function askNote(title, text, okLabel, danger) {
    return dialogAnswer(title, text, okLabel, danger, true);
  }

  // askText is askNote with the field named label (a reward's payout
  // reference, a reviewer's note), required when required is set.
  function askText(title, text, okLabel, danger, label, required) {
    return dialogAnswer(title, text, okLabel, danger, true, label, required);
  }

  const NOTE_LABEL = 'Note (optional, kept in the experiment\'s history)';

  function dialogAnswer(title, text, okLabel, danger, withNote, label, required) {
    const dialog = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    const note = document.getElementById('confirm-note');
    note.value = '';
    note.required = !!required;
    note.closest('.field').hidden = !withNote;
    note.closest('.field').querySelector('label').textContent = label || NOTE_LABEL;
    const ok = document.getElementById('confirm-ok');
    ok.textContent = okLabel;
    ok.className = danger ? 'danger' : '';
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok' ? note.value.trim() : null), { once: true });
      dialog.showModal();
      (withNote ? note : ok).focus();
    });
  }

  // ---------------------------------------------------------------- API

  class APIError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || `the server answered ${status}`);
      this.status = status;
      this.code = e.code || `http_${status}`;
      this.field = e.field || '';
      this.requestID = e.request_id || '';
    }
  }

  const adminKey = () => sessionStorage.getItem(KEY_STORAGE) || '';
  // probingKey is set while the login form tries a key: its refusal is
  // shown there, not by sending the user back to the form.
  let probingKey = false;

  async function call(method, path, body, accept) {
    const headers = { Authorization: `Bearer ${adminKey()}`, Accept: accept || 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(new URL(path, apiBase), {
        method, headers, cache: 'no-store', credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new APIError(0, { error: { code: 'network', message: `the API could not be reached (${err.message})` } });
    }
    const text = await res.text();
    if (!res.ok) {
      let parsed = null;
      try { parsed = JSON.parse(text); } catch { /* not JSON */ }
      if (res.status === 401) {
        sessionStorage.removeItem(KEY_STORAGE);
        if (!probingKey) setTimeout(() => renderLogin('The admin key was refused: enter it again.'), 0);
      }
      throw new APIError(res.status, parsed);
    }
    if (accept) return text;
    return text ? JSON.parse(text) : null;
  }

  const api = {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body === undefined ? {} : body),
    patch: (path, body) => call('PATCH', path, body),
    del: (path) => call('DELETE', path),
    svg: (path) => call('GET', path, undefined, 'image/svg+xml'),
  };

  const expPath = (id, rest) => `v1/experiments/${encodeURIComponent(id)}${rest || ''}`;

  // experimentsPage reads one page of the experiment listing, newest first.
  function experimentsPage(limit, status, cursor) {
    const q = new URLSearchParams({ limit: String(limit) });
    if (status) q.set('status', status);
    if (cursor) q.set('cursor', cursor);
    return api.get(`v1/experiments?${q}`);
  }

  // errorBox shows an API error: the message, then code, field and request
  // id for a bug report.
  function errorBox(err) {
    const details = [err.code, err.field && `field ${err.field}`, err.requestID && `request ${err.requestID}`].filter(Boolean);
    // A refusal for want of a role says so first; its message names the
    // role needed.
    return h('div', { class: 'error', role: 'alert', 'data-code': err.code },
      h('strong', {}, err.code === 'forbidden' ? 'Not allowed: ' : 'Error: '), err.message,
      details.length ? h('span', { class: 'details' }, ` (${details.join(' · ')})`) : null);
  }

  // ---------------------------------------------------------------- format

  function pct(x, signed) {
    if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
    const p = x * 100;
    const a = Math.abs(p);
    const digits = a === 0 ? 0 : a < 1 ? 2 : a >= 100 ? 0 : 1;
    let s = a.toFixed(digits);
    if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
    if (p < 0 && s !== '0') s = `\u2212${s}`;
    else if (signed && p > 0) s = `+${s}`;
    return `${s}%`;
  }

  function num(x) {
    if (x === null || x === undefined || !Number.isFinite(Number(x))) return 'n/a';
    const v = Number(x);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    if (Math.abs(v) >= 100) return v.toLocaleString('en-US', { maximumFractionDigits: 1 });
    return Number(v.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 6 });
  }

  // cupedNote says what the regression adjustment (CUPED) on the
  // participants' covariates reads, beside the unadjusted numbers the
  // verdict uses: each arm's adjusted difference, its interval, and how
  // much of the variance the covariate took away.
  function cupedNote(m) {
    const c = m && m.cuped;
    if (!c || !(c.comparisons || []).length) return null;
    return h('ul', { class: 'cuped muted', 'data-cuped': m.key },
      c.comparisons.map((x) => h('li', {},
        `CUPED-adjusted ${x.variant} − ${x.control}: ${num(x.estimate)}`,
        x.ci ? ` (${pct(c.interval_level)} CI [${num(x.ci.lower)}, ${num(x.ci.upper)}])` : '',
        x.p_value != null ? `, p = ${num(x.p_value)}` : '',
        x.variance_reduction != null ? `; the covariate removes ${pct(x.variance_reduction)} of the variance` : '',
        c.correlation != null ? ` (ρ = ${num(c.correlation)})` : '')));
  }

  // chance formats a probability that may be all but certain.
  function chance(p) {
    if (p === null || p === undefined) return 'n/a';
    if (p > 0.999) return '> 99.9%';
    if (p < 0.001) return '< 0.1%';
    return pct(p);
  }

  function pvalue(p) {
    if (p === null || p === undefined) return 'n/a';
    if (p < 0.001) return '< 0.001';
    return p.toFixed(3);
  }

  // pIs is "p = 0.012" or "p < 0.001".
  const pIs = (p) => (p !== null && p !== undefined && p < 0.001 ? 'p < 0.001' : `p = ${pvalue(p)}`);

  function date(s) {
    if (!s) return '—';
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) return s;
    return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  }

  function interval(ci, signed) {
    if (!ci) return 'no interval';
    return `[${pct(ci.lower, signed)}, ${pct(ci.upper, signed)}]`;
  }

  // ---------------------------------------------------------------- badges

  // launched reports whether an experiment has started: before (a draft,
  // in review, approved) it has no counts to read.
  const launched = (exp) => ['running', 'stopped', 'concluded', 'archived'].includes(exp.status);
  // ended reports whether a status is over for good (stopped, concluded,
  // archived): the API then refuses coverage, audience and variant edits.
  const ended = (status) => ['stopped', 'concluded', 'archived'].includes(status);

  function statusBadge(status) {
    return h('span', { class: `badge status-${status}` }, String(status).replace('_', ' '));
  }

  function sourceLabel(exp) {
    return exp.source === 'lamed' ? `Alephbet · ${exp.namespace || 'alephbet'}` : 'refx';
  }

  const VERDICTS = {
    winner: ['good', 'winner'],
    loser: ['bad', 'loser'],
    inconclusive: ['neutral', 'inconclusive'],
    insufficient_data: ['muted', 'not enough data'],
    srm: ['warn', 'sample ratio mismatch'],
    guardrail_ok: ['good', 'guardrail holds'],
    guardrail_violated: ['bad', 'guardrail violated'],
  };

  function verdictBadge(verdict, label) {
    const [tone, text] = VERDICTS[verdict.code] || ['muted', verdict.code];
    return h('span', { class: `badge verdict-${tone}`, title: verdict.text, 'data-verdict': verdict.code }, label || text);
  }

  // summary picks the headline verdict of an analysis: the first primary
  // metric's most telling comparison.
  function summary(exp, analysis) {
    const [first] = primaryMetrics(exp, analysis);
    if (!first || !first.metric.comparisons.length) return null;
    const best = ranked(first.metric.comparisons)[0];
    const label = best.verdict.code === 'winner' || best.verdict.code === 'loser'
      ? `${best.verdict.code}: ${best.variant} on ${first.goal.key}` : null;
    return verdictBadge(best.verdict, label);
  }

  // ranked orders comparisons by how much they matter to a decision: a
  // broken experiment first, then harm, then a winner, then the rest.
  const RANK = { srm: 0, guardrail_violated: 1, loser: 2, winner: 3, guardrail_ok: 4, inconclusive: 5, insufficient_data: 6 };
  const ranked = (comparisons) => [...comparisons].sort((a, b) => (RANK[a.verdict.code] ?? 9) - (RANK[b.verdict.code] ?? 9));

  // ---------------------------------------------------------------- decisions

  const ROLES = [
    ['primary', 'Primary metrics', 'What the experiment is run to move: their verdicts are the decision.'],
    ['secondary', 'Secondary metrics', 'They explain the decision; their correction family is their own, so they cannot change it.'],
    ['guardrail', 'Guardrails', 'They must not get worse: each is a one-sided non-inferiority test against its margin.'],
  ];

  // explicitRoles reports whether the experiment's goals carry roles (those
  // stored before roles existed do not).
  const explicitRoles = (exp) => (exp.goals || []).some((g) => g.role);

  // goalRole is the goal's role; without roles, the API's default: the
  // first goal is primary, the others secondary.
  function goalRole(exp, g) {
    if (g.role) return g.role;
    return explicitRoles(exp) || exp.goals[0] !== g ? 'secondary' : 'primary';
  }

  // decisionMetric is the metric a goal is decided on: the value per
  // participant of a value goal, the conversion rate otherwise.
  const decisionMetric = (ga) => ga.value_per_participant || ga.conversion_rate;

  // primaryMetrics lists the decision metrics of the primary goals, in the
  // goals' order, with their goals.
  function primaryMetrics(exp, analysis) {
    return (exp.goals || [])
      .filter((g) => goalRole(exp, g) === 'primary' && analysis.goals[g.key])
      .map((g) => ({ goal: g, metric: decisionMetric(analysis.goals[g.key]) }));
  }

  const CORRECTIONS = { holm: 'Holm', bh: 'Benjamini–Hochberg', bonferroni: 'Bonferroni' };

  // intervalLabel names a comparison's interval: its level, what kind it
  // is, and the multiple-testing adjustment that widened it, if any.
  function intervalLabel(a, c) {
    const level = c ? c.interval_level : 1 - a.alpha;
    if (a.engine === 'bayesian') return `${pct(level)} credible interval`;
    const parts = [`${pct(level)} CI`];
    if (a.engine === 'sequential') parts.push('always valid');
    if (a.correction && a.correction !== 'none' && Math.abs(level - (1 - a.alpha)) > 1e-9) {
      parts.push(`${CORRECTIONS[a.correction] || a.correction}-adjusted`);
    }
    return parts.join(', ');
  }

  // evidence is a comparison's p-value (adjusted when the correction
  // changed it) or chance to win.
  function evidence(a, c) {
    if (a.engine === 'bayesian') return `chance to win ${chance(c.chance_to_win)}`;
    const adjusted = c.adjusted_p_value !== null && c.adjusted_p_value !== undefined && c.adjusted_p_value !== c.p_value;
    return adjusted ? `${pIs(c.adjusted_p_value)} adjusted` : pIs(c.p_value);
  }

  // decisionSentence says a comparison's verdict in words, with its lift
  // and labelled interval.
  function decisionSentence(a, metric, c) {
    const lift = pct(c.relative.estimate, true);
    const ci = c.relative.ci ? `${intervalLabel(a, c)} ${interval(c.relative.ci, true)}` : 'no interval yet';
    const facts = `${lift} (${ci}; ${evidence(a, c)})`;
    const base = c.control || a.control;
    switch (c.verdict.code) {
      case 'winner': return `${c.variant} beats ${base} on ${metric.name}: ${facts}.`;
      case 'loser': return `${c.variant} is worse than ${base} on ${metric.name}: ${facts}.`;
      case 'inconclusive': return `No clear difference yet between ${c.variant} and ${base} on ${metric.name}: ${facts}.`;
      case 'insufficient_data': return `Too little data yet to compare ${c.variant} with ${base} on ${metric.name}: ${c.verdict.text}.`;
      case 'srm': return `Do not decide: the sample ratio check failed, so ${c.variant} against ${base} on ${metric.name} cannot be trusted.`;
      default: return `${c.variant} against ${base} on ${metric.name}: ${c.verdict.text}; ${facts}.`;
    }
  }

  // duration says a span of milliseconds roughly.
  function duration(ms) {
    const minutes = ms / 60000;
    if (minutes < 90) return `${Math.max(1, Math.round(minutes))} min`;
    const hours = minutes / 60;
    if (hours < 48) return `${Math.round(hours)} h`;
    return `${Math.round(hours / 24)} days`;
  }

  // MIN_RATE_SPAN is how long an experiment must have enrolled, in ms,
  // before its rate gives an ETA.
  const MIN_RATE_SPAN = 30000;

  // progress is the primary metrics' sample against the one they need:
  // each comparison's additional_units_per_arm (the power estimate of the
  // results) added to the arm's units is the planned sample per arm; the
  // enrolment still needed is that of the arm furthest behind for its
  // share of the weights, and the ETA divides it by the enrolment rate so
  // far (participants since started_at).
  function progress(exp, res, primaries, now) {
    const weights = new Map((exp.variants || []).map((x) => [x.key, x.weight]));
    const totalWeight = [...weights.values()].reduce((s, w) => s + w, 0) || 1;
    let plan = null;
    for (const { metric } of primaries) {
      const units = new Map(metric.variants.map((arm) => [arm.variant, arm.units]));
      for (const c of metric.comparisons) {
        const more = c.additional_units_per_arm;
        if (more === null || more === undefined) continue;
        const arms = [c.variant, c.control || res.analysis.control].filter((k) => weights.get(k) > 0);
        const have = Math.min(...arms.map((k) => units.get(k) || 0));
        const target = have + more;
        const enrol = Math.max(0, ...arms.map((k) => (target - (units.get(k) || 0)) / (weights.get(k) / totalWeight)));
        if (!plan || enrol > plan.enrol) plan = { have, target, enrol: Math.ceil(enrol), metric };
      }
    }
    if (!plan) {
      // The results estimate no sample for a comparison already decided.
      const decided = primaries.length && primaries.every(({ metric }) => metric.comparisons.length &&
        metric.comparisons.every((c) => c.verdict.code === 'winner' || c.verdict.code === 'loser'));
      return decided
        ? { text: 'Every primary comparison has its verdict: no more sample is needed for it.', done: 1 }
        : { text: 'No estimate of the sample needed yet: the primary metric has too little data.', done: null };
    }
    const share = plan.target > 0 ? plan.have / plan.target : 1;
    if (plan.enrol <= 0) return { text: `Planned sample reached: ${num(plan.have)} per arm.`, done: 1 };
    const participants = res.variants.reduce((s, x) => s + x.participants, 0);
    const since = exp.started_at ? now - new Date(exp.started_at).getTime() : 0;
    let eta = '';
    if (res.status !== 'running') {
      eta = ' The experiment is not running.';
    } else if (participants > 0 && since >= MIN_RATE_SPAN) {
      const ms = plan.enrol / (participants / since);
      eta = ` At ${num(Math.round(participants / since * 86400000))} participants a day so far, about ${duration(ms)} more (around ${date(new Date(now + ms).toISOString())}).`;
    } else {
      eta = ' No enrolment rate yet to estimate when.';
    }
    return {
      text: `Sample: ${num(plan.have)} of ~${num(plan.target)} per arm (${pct(share)}) to detect the lift seen so far on ${plan.metric.name}; ~${num(plan.enrol)} more participants in all.${eta}`,
      done: share,
    };
  }

  // headlineBody is the decision at a glance: a sentence per comparison of
  // each primary metric, the guardrails, the sample ratio check and the
  // progress towards the planned sample.
  function headlineBody(exp, res) {
    const a = res.analysis;
    const primaries = primaryMetrics(exp, a);
    const decisions = primaries.flatMap(({ goal, metric }) => ranked(metric.comparisons).map((c) => h('li', {
      class: 'decision', 'data-metric': metric.key, 'data-variant': c.variant, 'data-verdict': c.verdict.code,
    }, verdictBadge(c.verdict), ' ', h('span', { class: 'sentence' }, decisionSentence(a, metric, c)), goal.direction === 'decrease' ? h('span', { class: 'muted small' }, ' (lower is better)') : null)));

    const guardrails = (exp.goals || []).filter((g) => goalRole(exp, g) === 'guardrail' && a.goals[g.key])
      .flatMap((g) => [a.goals[g.key].conversion_rate, a.goals[g.key].value_per_participant].filter(Boolean));
    const violated = guardrails.flatMap((m) => m.comparisons.filter((c) => c.verdict.code === 'guardrail_violated' || c.verdict.code === 'loser').map((c) => `${m.name} (${c.variant}: ${pct(c.relative.estimate, true)})`));
    const pending = guardrails.flatMap((m) => m.comparisons.filter((c) => c.verdict.code !== 'guardrail_ok' && c.verdict.code !== 'guardrail_violated' && c.verdict.code !== 'loser'));
    let guard;
    if (!guardrails.length) guard = h('span', { class: 'muted' }, 'none set');
    else if (violated.length) guard = [h('span', { class: 'badge verdict-bad' }, 'violated'), ` ${violated.join('; ')}`];
    else if (pending.length) guard = [h('span', { class: 'badge verdict-neutral' }, 'not shown yet'), ` ${guardrails.length} guardrail metric${guardrails.length > 1 ? 's' : ''}; non-inferiority not yet shown for ${pending.length} comparison${pending.length > 1 ? 's' : ''}`];
    else guard = [h('span', { class: 'badge verdict-good' }, 'hold'), ` all ${guardrails.length} guardrail metric${guardrails.length > 1 ? 's' : ''} within their margins`];

    const srm = a.srm;
    const srmText = srm.p_value === null || srm.p_value === undefined
      ? h('span', { class: 'muted' }, 'not checked yet')
      : srm.mismatch
        ? [h('span', { class: 'badge verdict-warn' }, 'mismatch'), ` participants ${srm.observed.join(' / ')} do not match the weights (${pIs(srm.p_value)}): do not trust these results`]
        : [h('span', { class: 'badge verdict-good' }, 'OK'), ` participants match the weights (${pIs(srm.p_value)})`];

    const p = progress(exp, res, primaries, Date.now());
    const done = p.done === null ? null : Math.max(0, Math.min(1, p.done));
    return [
      h('h2', { id: 'headline-title' }, 'Decision'),
      primaries.length
        ? h('ul', { class: 'decisions' }, decisions.length ? decisions : h('li', { class: 'muted' }, 'No comparison yet.'))
        : h('p', { class: 'muted' }, 'No primary metric.'),
      explicitRoles(exp) ? null : h('p', { class: 'muted small', id: 'roles-defaulted' }, 'No metric roles are set: the first goal is taken as primary, as the API does.'),
      h('dl', { class: 'checks' },
        h('div', { 'data-check': 'guardrails', 'data-value': !guardrails.length ? 'none' : violated.length ? 'violated' : pending.length ? 'pending' : 'hold' }, h('dt', {}, 'Guardrails'), h('dd', {}, guard)),
        h('div', { 'data-check': 'srm', 'data-value': srm.mismatch ? 'mismatch' : 'ok' }, h('dt', {}, 'Sample ratio'), h('dd', {}, srmText)),
        h('div', { 'data-check': 'progress', 'data-value': done === null ? '' : String(done) }, h('dt', {}, 'Progress'),
          h('dd', {}, done === null ? null : h('progress', { max: '1', value: String(done), 'aria-label': 'share of the planned sample' }), ' ', p.text))),
      h('details', { class: 'how', 'data-key': 'headline-how' },
        h('summary', {}, 'How this is decided'),
        h('p', { class: 'small' }, `${engineName(a.engine)} engine at α = ${a.alpha}. `,
          a.engine === 'bayesian' ? 'A verdict needs the chance to win and the expected loss past their thresholds. ' : `Each role is its own correction family (${a.correction}); intervals are labelled with their level and adjustment. `,
          'Guardrails are one-sided non-inferiority tests against their margins. The planned sample per arm is what the results’ power estimate says is needed to detect the lift seen so far; the ETA assumes enrolment continues at its rate since the start.')),
    ];
  }

  function srmBadge(srm) {
    if (!srm || srm.p_value === null || srm.p_value === undefined) return h('span', { class: 'muted' }, '—');
    if (srm.mismatch) {
      return h('span', {
        class: 'badge verdict-warn', 'data-srm': 'mismatch',
        title: `participants do not match the weights (${pIs(srm.p_value)})`,
      }, '⚠ SRM');
    }
    return h('span', { class: 'muted nowrap', 'data-srm': 'ok', title: `sample ratio check: ${pIs(srm.p_value)}` }, 'ratio OK');
  }

  // ---------------------------------------------------------------- charts

  // chart fetches an SVG chart and puts it in a figure, sized to the page.
  // A figure that already holds the chart keeps it until the new one
  // arrives, so that a refresh does not make the page jump.
  async function chart(figure, path, params, live) {
    const width = Math.max(240, Math.min(1600, Math.round(figure.clientWidth || main().clientWidth || 720)));
    const q = new URLSearchParams(params);
    q.set('width', String(width));
    let holder = figure.querySelector('.chart-holder');
    if (!holder) {
      holder = h('div', { class: 'chart-holder' }, h('span', { class: 'muted' }, 'Loading chart…'));
      figure.prepend(holder);
    }
    holder.setAttribute('aria-busy', 'true');
    try {
      const text = await api.svg(`${path}?${q}`);
      if (!live()) return;
      const svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
      if (svg.nodeName !== 'svg') throw new Error('not an SVG document');
      holder.replaceChildren(document.importNode(svg, true));
    } catch (err) {
      if (!live()) return;
      holder.replaceChildren(err instanceof APIError ? errorBox(err) : h('p', { class: 'muted' }, `Chart unavailable: ${err.message}`));
    } finally {
      holder.removeAttribute('aria-busy');
    }
  }

  // ---------------------------------------------------------------- login

  function renderLogin(message) {
    const v = view('Admin key');
    document.getElementById('forget').hidden = true;
    document.getElementById('whoami').hidden = true;
    const input = h('input', { id: 'admin-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
    const out = h('div');
    const form = h('form', {
      class: 'card narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        out.replaceChildren();
        sessionStorage.setItem(KEY_STORAGE, input.value.trim());
        probingKey = true;
        try {
          await api.get('v1/experiments?limit=1');
          if (v.live()) route();
        } catch (err) {
          sessionStorage.removeItem(KEY_STORAGE);
          if (v.live()) out.replaceChildren(errorBox(err.status === 401 ? Object.assign(err, { message: 'that key was refused' }) : err));
        } finally {
          probingKey = false;
        }
      },
    },
    h('h1', {}, 'Admin key'),
    h('p', {}, 'Enter your admin key: the rfx_adm_… key an owner created for you (its role decides what you may do here), or the deployment’s bootstrap key (REFX_ADMIN_KEY; in AWS, the AdminKeySecretArn secret). It stays in this tab’s session storage and is sent only as a bearer token to this API.'),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    h('label', { for: 'admin-key' }, 'Admin key'), input,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Continue')),
    out);
    main().append(form);
    input.focus();
  }

  // ---------------------------------------------------------------- list

  async function renderList(params) {
    const status = STATUSES.includes(params.get('status')) ? params.get('status') : '';
    const v = view('Experiments');
    const select = statusSelect('status-filter', status, () => { location.hash = select.value ? `#/?status=${select.value}` : '#/'; });
    const tbody = h('tbody');
    const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
    const out = h('div');
    main().append(
      h('div', { class: 'title-row' }, h('h1', {}, 'Experiments'), h('a', { class: 'button', id: 'new-experiment', href: '#/new' }, 'New experiment')),
      h('div', { class: 'toolbar' }, h('label', { for: 'status-filter' }, 'Status'), select),
      out,
      h('table', { class: 'list', id: 'experiments' },
        h('thead', {}, h('tr', {}, ['Experiment', 'Status', 'Source', 'Owner', 'Dates', 'Participants', 'Verdict', 'Checks']
          .map((c) => h('th', { scope: 'col' }, c)))),
        tbody),
      h('div', { class: 'actions' }, more));

    const queue = [];
    let running = 0;
    const pump = () => {
      while (running < 4 && queue.length) {
        running++;
        queue.shift()().finally(() => { running--; pump(); });
      }
    };

    async function load(cursor) {
      more.hidden = true;
      let page;
      try {
        page = await experimentsPage(25, status, cursor);
      } catch (err) {
        if (v.live()) out.replaceChildren(errorBox(err));
        return;
      }
      if (!v.live()) return;
      if (!cursor && !page.experiments.length) {
        tbody.append(h('tr', {}, h('td', { colspan: 8, class: 'empty' },
          status ? `No ${status} experiments.` : 'No experiments yet. ', status ? null : h('a', { href: '#/new' }, 'Create one'))));
      }
      for (const exp of page.experiments) {
        // On a phone each row is a card: a cell's content stays one block
        // beside its label.
        const td = (label, attrs, ...children) => h('td', { 'data-label': label, ...attrs }, h('div', { class: 'cell' }, children));
        const participants = h('td', { 'data-label': 'Participants', 'data-k': 'participants' }, h('span', { class: 'muted' }, '—'));
        const verdict = h('td', { 'data-label': 'Verdict' }, h('span', { class: 'muted' }, '—'));
        const checks = h('td', { 'data-label': 'Checks' }, h('span', { class: 'muted' }, '—'));
        const dates = [`created ${date(exp.created_at)}`, exp.started_at && `started ${date(exp.started_at)}`, exp.stopped_at && `stopped ${date(exp.stopped_at)}`]
          .filter(Boolean);
        tbody.append(h('tr', { 'data-experiment': exp.id },
          td('Experiment', {},
            h('a', { href: `#/experiments/${encodeURIComponent(exp.id)}` }, exp.name || exp.id),
            h('div', { class: 'muted mono' }, exp.id)),
          td('Status', {}, statusBadge(exp.status)),
          td('Source', {}, sourceLabel(exp)),
          td('Owner', {}, exp.owner || '—'),
          td('Dates', { class: 'dates' }, dates.map((d) => h('div', {}, d))),
          participants, verdict, checks));
        if (!launched(exp)) continue;
        queue.push(async () => {
          try {
            const res = await api.get(expPath(exp.id, '/results'));
            if (!v.live()) return;
            const n = res.variants.reduce((s, x) => s + x.participants, 0);
            participants.replaceChildren(num(n));
            participants.dataset.value = String(n);
            verdict.replaceChildren(summary(exp, res.analysis) || h('span', { class: 'muted' }, '—'));
            checks.replaceChildren(srmBadge(res.analysis.srm));
          } catch (err) {
            if (v.live()) verdict.replaceChildren(h('span', { class: 'muted', title: err.message }, 'results unavailable'));
          }
        });
      }
      pump();
      if (page.next_cursor) {
        more.hidden = false;
        more.onclick = () => load(page.next_cursor);
      }
    }
    await load('');
  }

  // ---------------------------------------------------------------- experiment

  async function renderExperiment(id, params) {
    const v = view(id);
    const engine = ENGINES.some(([e]) => e === params.get('engine')) ? params.get('engine') : 'frequentist';
    main().append(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
    let exp;
    let actor;
    try {
      [exp, actor] = await Promise.all([api.get(expPath(id)), me()]);
    } catch (err) {
      if (v.live()) main().replaceChildren(h('h1', {}, id), errorBox(err), h('p', {}, h('a', { href: '#/' }, 'Back to the experiments')));
      return;
    }
    if (!v.live()) return;
    document.title = `${exp.name || exp.id} · refx`;
    const out = h('div', { id: 'action-errors' });
    const headline = h('section', { id: 'headline', class: 'headline', 'aria-labelledby': 'headline-title', hidden: !launched(exp) });
    const refreshed = h('p', { class: 'muted small', id: 'refresh-status', 'aria-live': 'polite' });
    const results = h('section', { id: 'results', 'aria-labelledby': 'results-title' });
    const flags = h('section', { id: 'experiment-flags', 'aria-labelledby': 'experiment-flags-title', hidden: true });
    main().replaceChildren(
      header(exp, out, v, actor),
      out,
      headline,
      brief(exp),
      variantsTable(exp),
      flags,
      results,
      refreshed);
    const every = launched(exp) ? refreshSeconds(params) : 0;
    const page = { exp, v, results, headline, refreshed, refreshes: 0, every };
    renderResults(page, engine, false);
    experimentFlags(flags, exp, v);
    if (every > 0) autoRefresh(v, every, () => renderResults(page, page.results.dataset.engine, true));
  }

  // DEFAULT_REFRESH is how often an experiment's page reads its results
  // again, in seconds; ?refresh=N sets it (0 stops it).
  const DEFAULT_REFRESH = 30;

  function refreshSeconds(params) {
    if (!params.has('refresh')) return DEFAULT_REFRESH;
    const n = Number(params.get('refresh'));
    return Number.isFinite(n) && n >= 0 ? Math.max(n, n > 0 ? 2 : 0) : DEFAULT_REFRESH;
  }

  // autoRefresh calls refresh every seconds while the view is live and the
  // tab is shown: a hidden tab asks nothing, and one shown again refreshes
  // at once when its numbers are older than the period.
  function autoRefresh(v, seconds, refresh) {
    let last = Date.now();
    let busy = false;
    const run = async () => {
      if (busy) return;
      busy = true;
      try {
        await refresh();
      } finally {
        busy = false;
        last = Date.now();
      }
    };
    const due = () => !document.hidden && Date.now() - last >= seconds * 1000;
    const stop = () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', shown);
    };
    const shown = () => {
      if (!v.live()) stop();
      else if (due()) run();
    };
    const timer = setInterval(() => {
      if (!v.live()) stop();
      else if (due()) run();
    }, 1000);
    document.addEventListener('visibilitychange', shown);
  }

  function header(exp, out, v, actor) {
    const lamed = exp.source === 'lamed';
    const buttons = lamed ? [] : lifecycleButtons(exp, actor, out, v);
    if (!lamed && allows(actor, 'editor') && !['concluded', 'archived'].includes(exp.status)) {
      buttons.push(h('a', { class: 'button secondary', id: 'edit', href: `#/experiments/${encodeURIComponent(exp.id)}/edit` }, 'Edit'));
    }
    const deletable = lamed || exp.status !== 'running';
    if (allows(actor, 'owner')) {
      buttons.push(h('button', {
        type: 'button', id: 'delete', class: 'danger',
        disabled: !deletable, title: deletable ? null : 'Stop the experiment before deleting it',
        onclick: async () => {
          const text = lamed
            ? 'Its counts are deleted, as Lamed deletes them; new events from Alephbet clients start it afresh.'
            : 'Its counts and snapshots are deleted. Its id cannot be used again.';
          if (await confirmAction(`Delete ${exp.id}?`, text, 'Delete', true)) {
            out.replaceChildren();
            try {
              await api.del(expPath(exp.id));
            } catch (err) {
              if (v.live()) out.replaceChildren(errorBox(err));
              return;
            }
            toast(`${exp.id} deleted`);
            location.hash = '#/';
          }
        },
      }, 'Delete'));
    }

    const meta = [
      ['Owner', exp.owner || '—'], ['Source', sourceLabel(exp)], ['Created', date(exp.created_at)],
      ['Started', date(exp.started_at)], ['Stopped', date(exp.stopped_at)], ['Version', String(exp.version)],
    ];
    return h('header', { class: 'exp-header' },
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Experiments'), ' / ', h('span', { class: 'mono' }, exp.id)),
      h('div', { class: 'title-row' },
        h('h1', {}, exp.name || exp.id, ' ', statusBadge(exp.status)),
        h('div', { class: 'actions', id: 'lifecycle-actions' }, buttons)),
      lamed ? null : stepper(exp.status),
      h('dl', { class: 'meta' }, meta.map(([k, val]) => h('div', {}, h('dt', {}, k), h('dd', {}, val)))),
      lamed ? null : expTabs(exp, 'overview'));
  }

  function brief(exp) {
    const rows = [
      ['Hypothesis', exp.hypothesis || h('span', { class: 'muted' }, 'none given')],
      ['Goals', h('ul', { class: 'inline' }, (exp.goals || []).map((g) => h('li', {}, h('span', { class: 'mono' }, g.key), ` (${[g.kind, g.role, g.direction === 'decrease' ? 'lower is better' : null].filter(Boolean).join(', ')})`, goalRules(g))))],
      ['Control', h('span', { class: 'mono' }, exp.control || '—')],
      ['Coverage', pct(exp.coverage)],
    ];
    if (exp.referral) {
      const r = exp.referral;
      rows.push(['Referral', h('div', {},
        h('div', {}, 'Landing page: ', h('span', { class: 'mono break' }, r.landing_url)),
        h('div', {}, `Conversion goal ${r.conversion_goal}; attribution window ${r.window_days} days; flagged above ${r.max_signups_per_hour} signups/hour or ${r.max_signups_per_day}/day per code`))]);
    }
    return h('section', { 'aria-labelledby': 'brief-title' },
      h('h2', { id: 'brief-title' }, 'Brief'),
      h('dl', { class: 'brief' }, rows.map(([k, val]) => [h('dt', {}, k), h('dd', {}, val)])));
  }

  function variantsTable(exp) {
    const total = (exp.variants || []).reduce((s, x) => s + x.weight, 0) || 1;
    return h('section', { 'aria-labelledby': 'variants-title' },
      h('h2', { id: 'variants-title' }, 'Variants'),
      h('div', { class: 'table-wrap' }, h('table', { id: 'variants' },
        h('thead', {}, h('tr', {}, ['Variant', 'Weight', 'Share', 'Payload'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, (exp.variants || []).map((x) => h('tr', {},
          h('th', { scope: 'row' }, h('span', { class: 'mono' }, x.key), x.key === exp.control ? h('span', { class: 'badge muted-badge' }, 'control') : null),
          h('td', { class: 'num' }, num(x.weight)),
          h('td', { class: 'num' }, pct(x.weight / total)),
          h('td', {}, x.payload === undefined ? h('span', { class: 'muted' }, 'none') : h('pre', {}, h('code', {}, JSON.stringify(x.payload, null, 2))))))))));
  }

  function engineSwitch(current, onChange) {
    return h('fieldset', { class: 'engine', id: 'engine' },
      h('legend', {}, 'Statistics engine'),
      ENGINES.map(([value, label]) => h('label', {},
        h('input', { type: 'radio', name: 'engine', value, checked: value === current, onchange: () => onChange(value) }),
        ' ', label)));
  }

  // keepState notes what a re-render must not lose: the scroll position,
  // the open details (by data-key) and the chart figures (by data-chart),
  // which the new content takes over so that their charts stay in place.
  function keepState(...roots) {
    const x = window.scrollX;
    const y = window.scrollY;
    const open = new Set(roots.flatMap((r) => [...r.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key)));
    const figures = new Map(roots.flatMap((r) => [...r.querySelectorAll('figure.chart[data-chart]')].map((f) => [f.dataset.chart, f])));
    return {
      figure(key, caption) {
        const f = figures.get(key) || h('figure', { class: 'chart', 'data-chart': key }, h('figcaption', {}, caption));
        f.querySelector('figcaption').textContent = caption;
        return f;
      },
      restore() {
        for (const r of roots) {
          r.querySelectorAll('details[data-key]').forEach((d) => { if (open.has(d.dataset.key)) d.open = true; });
        }
        if (window.scrollX !== x || window.scrollY !== y) window.scrollTo(x, y);
      },
    };
  }

  // renderResults shows the results with the engine, and the headline. A
  // refresh replaces them in place once the new numbers are read, keeping
  // the charts, the open details and the scroll position; its failure
  // leaves the numbers shown and says so.
  async function renderResults(page, engine, refresh) {
    const { exp, v, results: section, headline } = page;
    const live = () => v.live() && section.dataset.engine === engine;
    if (!refresh) {
      section.dataset.engine = engine;
      section.replaceChildren(
        h('div', { class: 'title-row' }, h('h2', { id: 'results-title' }, 'Results'),
          engineSwitch(engine, (next) => {
            history.replaceState(null, '', `#/experiments/${encodeURIComponent(exp.id)}?engine=${next}`);
            renderResults(page, next, false);
          })),
        h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading results…'));
      headline.replaceChildren(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading the decision…'));
    }
    let res;
    try {
      res = await api.get(expPath(exp.id, `/results?engine=${engine}`));
    } catch (err) {
      if (!live()) return;
      if (refresh) {
        page.refreshed.textContent = `Could not refresh at ${new Date().toLocaleTimeString()} (${err.message}): the numbers above are older.`;
      } else {
        section.replaceChildren(section.firstChild, errorBox(err));
        headline.replaceChildren();
      }
      return;
    }
    if (!live()) return;
    const keep = keepState(section, headline);
    const a = res.analysis;
    const body = [];
    if (a.srm.mismatch) {
      body.push(h('div', { class: 'warning', role: 'alert', id: 'srm-warning' },
        h('strong', {}, 'Sample ratio mismatch. '),
        `Participants per variant (${a.srm.observed.join(' / ')}) do not match the weights (expected ${a.srm.expected.map((x) => num(Math.round(x))).join(' / ')}; ${pIs(a.srm.p_value)}). Assignment or tracking is broken somewhere: do not trust these results.`));
    }
    const totals = res.variants.map((x) => `${x.key}: ${num(x.participants)}`).join(' · ');
    body.push(h('p', { class: 'muted', id: 'participants', 'data-value': String(res.variants.reduce((n, x) => n + x.participants, 0)) },
      `${engineName(a.engine)} engine, α = ${a.alpha}${a.engine === 'bayesian' ? '' : `, ${a.correction} correction within each role`}. Participants ${totals}.`));
    // Counters are applied from the table's stream: say up to when.
    body.push(h('p', { class: 'muted', id: 'counted-through', 'data-counted-through': res.counted_through || '' },
      res.counted_through
        ? `Counted through ${new Date(res.counted_through).toLocaleString()}: every event accepted before then is in these numbers.`
        : 'The counters have not been applied yet: the numbers below may be missing the latest events.'));
    const groups = new Map(ROLES.map(([role]) => [role, []]));
    const charts = [];
    for (const g of exp.goals || []) {
      const ga = a.goals[g.key];
      if (!ga) continue;
      const figure = keep.figure(`lift:${g.key}`, `Relative lift vs ${a.control} on ${g.key}, with ${intervalLabel(a, ga.conversion_rate.comparisons[0])} intervals`);
      const rate = keep.figure(`rate:${g.key}`, `Cumulative ${g.key} conversion rate per variant: stored snapshots (filled; every 5 minutes in an experiment's first day, hourly after) and the live counts (hollow)`);
      charts.push(() => chart(figure, expPath(exp.id, '/charts/lift.svg'), { goal: g.key, engine }, live));
      charts.push(() => chart(rate, expPath(exp.id, '/charts/rate.svg'), { goal: g.key }, live));
      const role = goalRole(exp, g);
      (groups.get(role) || groups.get('secondary')).push(h('section', { class: 'goal', 'data-goal': g.key, 'data-role': role, 'aria-labelledby': `goal-${g.key}` },
        h('h4', { id: `goal-${g.key}` }, g.key, ' ', h('span', { class: 'muted' }, `(${g.kind}${g.direction === 'decrease' ? ', lower is better' : ''})`), goalRules(g)),
        metricTable(ga.conversion_rate, a, 'Conversion rate', true),
        cupedNote(ga.conversion_rate),
        ga.value_per_participant ? metricTable(ga.value_per_participant, a, 'Value per participant', false) : null,
        ga.value_per_participant ? cupedNote(ga.value_per_participant) : null,
        h('div', { class: 'charts' }, figure, rate)));
    }
    // Ratio metrics, when the analysis has them, go to their role's group.
    for (const m of Object.values(a.ratio_metrics || {})) {
      const def = (exp.ratio_metrics || []).find((r) => m.key === r.key || m.key.startsWith(`${r.key}:`));
      const role = (def && def.role) || m.role || 'secondary';
      (groups.get(role) || groups.get('secondary')).push(h('section', { class: 'goal ratio', 'data-ratio': m.key, 'data-role': role }, metricTable(m, a, 'Ratio', false)));
    }
    for (const [role, title, about] of ROLES) {
      const items = groups.get(role);
      if (!items.length) continue;
      body.push(h('section', { class: 'role', 'data-role': role, 'aria-labelledby': `role-${role}` },
        h('h3', { id: `role-${role}` }, title), h('p', { class: 'muted small' }, about), items));
    }
    if (exp.referral && a.referral) body.push(referralSection(exp, res, engine, live, keep, charts));
    if (a.notes && a.notes.length) body.push(h('ul', { class: 'notes' }, a.notes.map((n) => h('li', {}, n))));
    headline.replaceChildren(...headlineBody(exp, res).filter(Boolean));
    section.replaceChildren(section.firstChild, ...body);
    keep.restore();
    if (refresh) page.refreshes++;
    page.refreshed.dataset.refreshes = String(page.refreshes);
    page.refreshed.textContent = `Updated ${new Date().toLocaleTimeString()}; ${page.every > 0 ? `the page reads the results again every ${page.every} s while it is shown` : 'automatic refresh is off'}.`;
    charts.forEach((draw) => draw());
  }

  // goalRules: a goal's defences and decision rules in small text
  // ("server-only", "values capped at ±500", "non-inferiority margin 2%");
  // nothing when it has none.
  function goalRules(g) {
    const rules = [];
    if (g.server_only) rules.push('server-only');
    if (g.cap !== undefined && g.cap !== null) rules.push(`values capped at ±${g.cap}`);
    if (g.margin !== undefined && g.margin !== null) rules.push(`non-inferiority margin ${pct(g.margin)}`);
    if (g.min_sample) rules.push(`no verdict below ${num(g.min_sample)} per arm`);
    if (g.one_sided) rules.push('one-sided');
    return rules.length ? h('span', { class: 'muted small goal-rules' }, ` ${rules.join('; ')}`) : null;
  }

  function engineName(e) {
    return (ENGINES.find(([k]) => k === e) || [e, e])[1];
  }

  // metricTable: one row per variant with its mean and, for all but the
  // control, the lift, its interval (labelled with its level and
  // adjustment), the p-value or chance to win, the verdict and the power
  // estimate. data-* attributes carry the raw numbers; data-label names a
  // cell where a phone shows the row as a card, decision cells first.
  function metricTable(metric, analysis, meanLabel, isRate) {
    const bayes = analysis.engine === 'bayesian';
    const byVariant = Object.fromEntries(metric.comparisons.map((c) => [c.variant, c]));
    const ciLabel = intervalLabel(analysis, metric.comparisons[0]);
    const decisionLabel = bayes ? 'Chance to win' : 'p-value';
    const cell = (k, label, variant, value, content, cls) => h('td', {
      class: cls || 'num', 'data-metric': metric.key, 'data-variant': variant, 'data-k': k, 'data-label': label,
      'data-value': value === null || value === undefined ? '' : String(value),
    }, content);
    const unitsLabel = metric.unit === 'referrer' ? 'Referrers' : 'Participants';
    const sumLabel = isRate ? 'Converted' : 'Sum';
    const heads = ['Variant', unitsLabel, sumLabel, meanLabel, 'Lift vs control', `Interval (${ciLabel})`, decisionLabel, 'Verdict', 'Power'];
    const about = [
      metric.variance === 'approximate' ? 'approximate variance' : null,
      metric.lower_is_better ? 'lower is better' : null,
      metric.non_inferiority_margin ? `non-inferiority margin ${pct(metric.non_inferiority_margin)}` : null,
    ].filter(Boolean);
    return h('div', { class: 'table-wrap' }, h('table', { class: 'metric', 'data-metric': metric.key, 'data-role': metric.role || '' },
      h('caption', {}, metric.name, about.length ? h('span', { class: 'muted' }, ` (${about.join('; ')})`) : null),
      h('thead', {}, h('tr', {}, heads.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, metric.variants.map((arm) => {
        const c = byVariant[arm.variant];
        const mean = isRate ? pct(arm.mean) : num(arm.mean);
        const row = [
          h('th', { scope: 'row' }, h('span', { class: 'mono' }, arm.variant), c ? null : h('span', { class: 'badge muted-badge' }, 'control')),
          cell('units', unitsLabel, arm.variant, arm.units, num(arm.units)),
          cell('sum', sumLabel, arm.variant, arm.sum, num(arm.sum)),
          cell('mean', meanLabel, arm.variant, arm.mean, mean),
        ];
        if (!c) {
          row.push(h('td', { colspan: 5, class: 'muted baseline' }, 'baseline'));
        } else {
          const rel = c.relative;
          const decision = bayes ? c.chance_to_win : c.p_value;
          const decisionText = bayes ? chance(c.chance_to_win) : pvalue(c.p_value);
          const adjusted = !bayes && c.adjusted_p_value !== null && c.adjusted_p_value !== c.p_value
            ? h('div', { class: 'muted small' }, `adjusted ${pvalue(c.adjusted_p_value)}`) : null;
          const more = c.additional_units_per_arm;
          row.push(
            cell('lift', 'Lift', arm.variant, rel.estimate, pct(rel.estimate, true)),
            cell('interval', intervalLabel(analysis, c), arm.variant, rel.ci ? `${rel.ci.lower},${rel.ci.upper}` : '', interval(rel.ci, true)),
            cell(bayes ? 'chance_to_win' : 'p_value', decisionLabel, arm.variant, decision, [decisionText, adjusted]),
            cell('verdict', 'Verdict', arm.variant, c.verdict.code, [verdictBadge(c.verdict), h('div', { class: 'small' }, c.verdict.text)], 'verdict'),
            cell('power', 'Power', arm.variant, more, more === null || more === undefined ? '—' : more > 0 ? `~${num(more)} more per arm` : 'enough', 'small'));
        }
        return h('tr', {}, row);
      }))));
  }

  function referralSection(exp, res, engine, live, keep, charts) {
    const ra = res.analysis.referral;
    const k = ra.k_factor;
    const stages = [['referrers', 'Referrers'], ['sharing_referrers', 'Sharing'], ['clicks', 'Clicks'], ['signups', 'Signups'], ['conversions', 'Conversions']];
    const kArm = Object.fromEntries(k.variants.map((arm) => [arm.variant, arm]));
    const rows = res.variants.map((x) => {
      const r = x.referral || {};
      const arm = kArm[x.key] || {};
      // K's 95% interval from the per-referrer standard deviation.
      let ki = 'n/a';
      if (arm.mean !== null && arm.std_dev !== null && arm.units > 1) {
        const half = 1.96 * arm.std_dev / Math.sqrt(arm.units);
        ki = `[${num(Math.max(0, arm.mean - half))}, ${num(arm.mean + half)}]`;
      }
      return h('tr', {},
        h('th', { scope: 'row' }, h('span', { class: 'mono' }, x.key)),
        stages.map(([field]) => h('td', { class: 'num', 'data-funnel': field, 'data-variant': x.key, 'data-value': String(r[field] ?? 0) }, num(r[field] ?? 0))),
        h('td', { class: 'num' }, num(Number(r.conversion_value ?? 0))),
        h('td', { class: 'num', 'data-funnel': 'k_factor', 'data-variant': x.key, 'data-value': String(arm.mean ?? '') }, num(arm.mean), h('div', { class: 'muted small' }, ki)));
    });
    const guards = [];
    for (const x of res.variants) {
      const r = x.referral || {};
      const refused = Object.entries(r.refused || {}).map(([reason, n]) => `${reason} ${n}`);
      const flagged = Object.entries(r.flagged || {}).map(([reason, n]) => `${reason} ${n}`);
      if (refused.length || flagged.length) {
        guards.push(h('li', {}, h('span', { class: 'mono' }, x.key), `: refused ${refused.join(', ') || 'none'}; flagged ${flagged.join(', ') || 'none'}`));
      }
    }
    const funnel = keep.figure('funnel', 'Referral funnel per variant: referrers → sharing → clicks → signups → referee conversions');
    const forest = keep.figure('referral-lift', `Relative lift of the per-referrer metrics vs ${res.analysis.control}`);
    charts.push(() => chart(funnel, expPath(exp.id, '/charts/funnel.svg'), {}, live));
    charts.push(() => chart(forest, expPath(exp.id, '/charts/referral-lift.svg'), { engine }, live));
    return h('section', { id: 'referral', class: 'role', 'data-role': 'referral', 'aria-labelledby': 'referral-title' },
      h('h3', { id: 'referral-title' }, 'Referral metrics'),
      h('p', { class: 'muted small' }, 'Per referrer: the funnel, K (signups per referrer) and the share rate.'),
      h('div', { class: 'table-wrap' }, h('table', { id: 'funnel' },
        h('thead', {}, h('tr', {}, ['Variant', ...stages.map(([, l]) => l), 'Value', 'K (95% interval)'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows))),
      guards.length ? h('ul', { class: 'notes' }, guards) : null,
      metricTable(k, res.analysis, 'K (signups per referrer)', false),
      metricTable(ra.share_rate, res.analysis, 'Share rate', true),
      h('div', { class: 'charts' }, funnel, forest));
  }

  // ---------------------------------------------------------------- form

  // renderForm is the create form (exp null) and the edit form. Fields the
  // experiment's status freezes are disabled, as the API would refuse them.
  function renderForm(exp) {
    const editing = !!exp;
    const v = view(editing ? `Edit ${exp.id}` : 'New experiment');
    const status = editing ? exp.status : 'draft';
    const draft = status === 'draft';
    const running = status === 'running';
    const errors = h('div', { id: 'form-errors' });
    const field = (name, label, input, hint) => h('div', { class: 'field', 'data-field': name },
      h('label', { for: `f-${name}` }, label), input, hint ? h('div', { class: 'hint', id: `f-${name}-hint` }, hint) : null,
      h('div', { class: 'field-error', id: `f-${name}-error`, 'aria-live': 'polite' }));
    const input = (name, attrs) => h('input', { id: `f-${name}`, name, 'aria-describedby': `f-${name}-error`, ...attrs });

    const id = input('id', { value: editing ? exp.id : '', required: true, disabled: editing, autocomplete: 'off', spellcheck: 'false' });
    const name = input('name', { value: editing ? exp.name : '' });
    const hypothesis = h('textarea', { id: 'f-hypothesis', name: 'hypothesis', rows: 3 }, editing ? exp.hypothesis || '' : '');
    const owner = input('owner', { value: editing ? exp.owner || '' : '' });
    const coverage = input('coverage', { type: 'number', min: '0', max: '1', step: '0.01', value: editing ? String(exp.coverage) : '1', disabled: ended(status) });

    const variantRows = h('tbody');
    const control = h('select', { id: 'f-control', name: 'control', disabled: !draft });
    const addVariant = (x) => {
      const key = h('input', { class: 'v-key', 'aria-label': 'Variant key', value: x ? x.key : '', disabled: !draft, oninput: syncControl });
      const weight = h('input', { class: 'v-weight', 'aria-label': 'Weight', type: 'number', min: '0', step: 'any', value: x ? String(x.weight) : '50', disabled: !(draft || running) });
      const payload = h('textarea', { class: 'v-payload', 'aria-label': 'Payload (JSON)', rows: 2, disabled: !draft, placeholder: '{"reward": 10}' },
        x && x.payload !== undefined ? JSON.stringify(x.payload) : '');
      const remove = h('button', { type: 'button', class: 'link', disabled: !draft, onclick: () => { row.remove(); syncControl(); } }, 'Remove');
      const row = h('tr', {}, h('td', {}, key), h('td', {}, weight), h('td', {}, payload), h('td', {}, remove));
      variantRows.append(row);
    };
    function syncControl() {
      const keys = [...variantRows.querySelectorAll('.v-key')].map((k) => k.value.trim()).filter(Boolean);
      const current = control.value || (editing ? exp.control : '');
      control.replaceChildren(...keys.map((k) => h('option', { value: k, selected: k === current }, k)));
    }
    (editing ? exp.variants : [{ key: 'control', weight: 50 }, { key: 'treatment', weight: 50 }]).forEach(addVariant);
    syncControl();

    const goalRows = h('tbody');
    const decisionKept = new WeakMap();
    const addGoal = (g) => {
      const key = h('input', { class: 'g-key', 'aria-label': 'Goal key (event type)', value: g ? g.key : '', disabled: !draft });
      const kind = h('select', { class: 'g-kind', 'aria-label': 'Kind', disabled: !draft },
        [['binomial', 'binomial (converted or not)'], ['value', 'value (and a value per participant)']]
          .map(([value, label]) => h('option', { value, selected: g ? g.kind === value : value === 'binomial' }, label)));
      const serverOnly = h('input', { class: 'g-server-only', type: 'checkbox', 'aria-label': 'Server-only (count only events sent with a secret key)', checked: !!(g && g.server_only), disabled: !draft });
      const cap = h('input', { class: 'g-cap', type: 'number', min: '0', step: 'any', 'aria-label': 'Value cap (each value counted within ± this)', placeholder: 'none', value: g && g.cap != null ? String(g.cap) : '', disabled: !draft });
      // The decision: role and direction here; a guardrail's margin in
      // percent. min_sample and one_sided, set through the API, are kept
      // as they are (decisionKept), so that saving the form loses nothing.
      const role = h('select', { class: 'g-role', 'aria-label': 'Role', disabled: !(draft || running) },
        ['', 'primary', 'secondary', 'guardrail'].map((value) => h('option', { value, selected: (g && g.role || '') === value }, value || 'default')));
      const direction = h('select', { class: 'g-direction', 'aria-label': 'Good direction', disabled: !(draft || running) },
        [['increase', 'higher is better'], ['decrease', 'lower is better']].map(([value, label]) => h('option', { value, selected: (g && g.direction || 'increase') === value }, label)));
      const margin = h('input', { class: 'g-margin', type: 'number', min: '0', max: '100', step: 'any', 'aria-label': 'Guardrail margin (%)', placeholder: 'guardrails', value: g && g.margin != null ? String(g.margin * 100) : '', disabled: !(draft || running) });
      const remove = h('button', { type: 'button', class: 'link', disabled: !draft, onclick: () => row.remove() }, 'Remove');
      const row = h('tr', {}, h('td', {}, key), h('td', {}, kind), h('td', {}, serverOnly), h('td', {}, cap), h('td', {}, role), h('td', {}, direction), h('td', {}, margin), h('td', {}, remove));
      decisionKept.set(row, { min_sample: g && g.min_sample, one_sided: g && g.one_sided });
      goalRows.append(row);
    };
    (editing ? exp.goals : [{ key: 'signup', kind: 'binomial' }]).forEach(addGoal);

    const r = (editing && exp.referral) || {};
    const isReferral = h('input', { id: 'f-referral', type: 'checkbox', checked: editing ? !!exp.referral : false, disabled: !draft, onchange: () => { refFields.hidden = !isReferral.checked; } });
    const refEditable = draft || running;
    const landing = input('referral.landing_url', { type: 'url', value: r.landing_url || '', placeholder: 'https://shop.example/welcome', disabled: !refEditable });
    const convGoal = input('referral.conversion_goal', { value: r.conversion_goal || 'purchase', disabled: !refEditable });
    const windowDays = input('referral.window_days', { type: 'number', min: '1', max: '365', value: String(r.window_days || 30), disabled: !refEditable });
    const perHour = input('referral.max_signups_per_hour', { type: 'number', min: '1', value: String(r.max_signups_per_hour || 20), disabled: !refEditable });
    const perDay = input('referral.max_signups_per_day', { type: 'number', min: '1', value: String(r.max_signups_per_day || 100), disabled: !refEditable });
    const refFields = h('div', { class: 'grid', hidden: !isReferral.checked },
      field('referral.landing_url', 'Landing page URL', landing, 'Where referral links lead, with ref=<code> added.'),
      field('referral.conversion_goal', 'Referee conversion event', convGoal),
      field('referral.window_days', 'Attribution window (days)', windowDays),
      field('referral.max_signups_per_hour', 'Flag above signups per hour per code', perHour),
      field('referral.max_signups_per_day', 'Flag above signups per day per code', perDay));

    const frozen = {
      draft: null,
      running: 'While it runs, only the brief, the coverage, the weights and the referral settings can change.',
      stopped: 'A stopped experiment can change only its brief.',
    }[status];

    const form = h('form', { id: 'experiment-form', novalidate: true, onsubmit: submit },
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Experiments'), editing ? [' / ', h('a', { href: `#/experiments/${encodeURIComponent(exp.id)}` }, exp.id)] : null),
      h('h1', {}, editing ? `Edit ${exp.id}` : 'New experiment'),
      frozen ? h('p', { class: 'notice' }, frozen) : null,
      errors,
      h('div', { class: 'grid' },
        field('id', 'Id', id, 'Lower-case letters, digits, - and _; it never changes and is never reused.'),
        field('name', 'Name', name),
        field('owner', 'Owner', owner),
        field('coverage', 'Coverage (0–1)', coverage, 'Share of users who enter the experiment.')),
      field('hypothesis', 'Hypothesis', hypothesis),
      h('fieldset', { 'data-field': 'variants' }, h('legend', {}, 'Variants'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'form-table' },
          h('thead', {}, h('tr', {}, ['Key', 'Weight', 'Payload (JSON)', ''].map((c) => h('th', { scope: 'col' }, c)))), variantRows)),
        h('button', { type: 'button', class: 'secondary', disabled: !draft, onclick: () => { addVariant(null); syncControl(); } }, 'Add variant'),
        h('div', { class: 'field-error', id: 'f-variants-error', 'aria-live': 'polite' })),
      field('control', 'Control', control),
      h('fieldset', { 'data-field': 'goals' }, h('legend', {}, 'Goals'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'form-table' },
          h('thead', {}, h('tr', {}, ['Event type', 'Kind', 'Server-only', 'Value cap', 'Role', 'Direction', 'Margin (%)', ''].map((c) => h('th', { scope: 'col' }, c)))), goalRows)),
        h('button', { type: 'button', class: 'secondary', disabled: !draft, onclick: () => addGoal(null) }, 'Add goal'),
        h('div', { class: 'field-error', id: 'f-goals-error', 'aria-live': 'polite' })),
      h('fieldset', { 'data-field': 'referral' }, h('legend', {}, 'Referral'),
        h('label', { class: 'check' }, isReferral, ' This is a referral experiment (variants are offers shown to referrers)'),
        refFields),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', id: 'submit' }, editing ? 'Save changes' : 'Create draft'),
        h('a', { class: 'button secondary', href: editing ? `#/experiments/${encodeURIComponent(exp.id)}` : '#/' }, 'Cancel')));
    main().append(form);

    function clearErrors() {
      errors.replaceChildren();
      form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
      form.querySelectorAll('.field-error').forEach((el) => { el.textContent = ''; });
    }

    // fail marks a field invalid with a message; the API's field names
    // (id, variants, referral.landing_url, …) are the form's.
    function fail(fieldName, message) {
      const holder = form.querySelector(`[data-field="${CSS.escape(fieldName)}"]`) ||
        form.querySelector(`[data-field="${CSS.escape(fieldName.split('.')[0])}"]`);
      if (holder) {
        const el = holder.querySelector('.field-error');
        if (el) el.textContent = message;
        const control = holder.querySelector('input, select, textarea');
        if (control) control.setAttribute('aria-invalid', 'true');
      }
      return { field: fieldName, message };
    }

    function collect() {
      const problems = [];
      const body = {};
      if (!editing) {
        body.id = id.value.trim();
        if (!SLUG.test(body.id)) problems.push(fail('id', 'Use 1–64 lower-case letters, digits, - or _, starting with a letter or digit.'));
      }
      body.name = name.value.trim();
      body.hypothesis = hypothesis.value.trim();
      body.owner = owner.value.trim();
      if (!ended(status)) {
        const c = Number(coverage.value);
        if (coverage.value === '' || !(c >= 0 && c <= 1)) problems.push(fail('coverage', 'Coverage is a number from 0 to 1.'));
        body.coverage = c;
      }
      if (draft || running) {
        const variants = [];
        const seen = new Set();
        let sum = 0;
        for (const row of variantRows.children) {
          const key = row.querySelector('.v-key').value.trim();
          const weight = Number(row.querySelector('.v-weight').value);
          const raw = row.querySelector('.v-payload').value.trim();
          const x = { key, weight };
          if (!KEY.test(key)) problems.push(fail('variants', `Variant key “${key}” must be 1–64 letters, digits, ., - or _.`));
          else if (seen.has(key)) problems.push(fail('variants', `Variant key “${key}” appears twice.`));
          seen.add(key);
          if (!(weight >= 0) || row.querySelector('.v-weight').value === '') problems.push(fail('variants', `The weight of “${key}” must be a number ≥ 0.`));
          sum += weight || 0;
          if (raw) {
            try { x.payload = JSON.parse(raw); } catch { problems.push(fail('variants', `The payload of “${key}” is not valid JSON.`)); }
          }
          variants.push(x);
        }
        if (variants.length < 2) problems.push(fail('variants', 'An experiment needs at least two variants.'));
        else if (!(sum > 0)) problems.push(fail('variants', 'The weights must not all be zero.'));
        body.variants = variants;
      }
      if (draft || running) {
        // A running experiment's goals may change their decisions only.
        const goals = [];
        for (const row of goalRows.children) {
          const key = row.querySelector('.g-key').value.trim();
          if (!KEY.test(key)) problems.push(fail('goals', `Goal “${key}” must be an event type: 1–64 letters, digits, ., - or _.`));
          const goal = { key, kind: row.querySelector('.g-kind').value };
          if (row.querySelector('.g-server-only').checked) goal.server_only = true;
          const cap = row.querySelector('.g-cap').value.trim();
          if (cap !== '') {
            if (goal.kind !== 'value') problems.push(fail('goals', `Goal “${key}”: only a value goal can have a cap.`));
            else if (!(Number(cap) > 0)) problems.push(fail('goals', `Goal “${key}”: the cap must be a number greater than 0.`));
            goal.cap = Number(cap);
          }
          const role = row.querySelector('.g-role').value;
          if (role) goal.role = role;
          goal.direction = row.querySelector('.g-direction').value;
          const margin = row.querySelector('.g-margin').value.trim();
          if (role === 'guardrail') {
            if (!(Number(margin) > 0 && Number(margin) < 100)) problems.push(fail('goals', `Goal “${key}”: a guardrail needs a margin between 0 and 100 %.`));
            goal.margin = Number(margin) / 100;
          }
          const kept = decisionKept.get(row) || {};
          if (kept.min_sample) goal.min_sample = kept.min_sample;
          if (kept.one_sided) goal.one_sided = true;
          goals.push(goal);
        }
        if (!goals.length) problems.push(fail('goals', 'Add at least one goal.'));
        body.goals = goals;
      }
      if (draft) body.control = control.value;
      if (isReferral.checked && refEditable) {
        let url = null;
        try { url = new URL(landing.value.trim()); } catch { /* invalid */ }
        if (!url || !/^https?:$/.test(url.protocol)) problems.push(fail('referral.landing_url', 'Enter an absolute http(s) URL.'));
        const ints = [[windowDays, 'referral.window_days', 1, 365], [perHour, 'referral.max_signups_per_hour', 1, 1e9], [perDay, 'referral.max_signups_per_day', 1, 1e9]];
        for (const [el, fname, lo, hi] of ints) {
          const n = Number(el.value);
          if (!Number.isInteger(n) || n < lo || n > hi) problems.push(fail(fname, `Enter a whole number from ${lo}${hi < 1e9 ? ` to ${hi}` : ''}.`));
        }
        if (!KEY.test(convGoal.value.trim())) problems.push(fail('referral.conversion_goal', 'Enter an event type.'));
        body.referral = {
          landing_url: landing.value.trim(), conversion_goal: convGoal.value.trim(), window_days: Number(windowDays.value),
          max_signups_per_hour: Number(perHour.value), max_signups_per_day: Number(perDay.value),
        };
      }
      return { body, problems };
    }

    async function submit(e) {
      e.preventDefault();
      clearErrors();
      const { body, problems } = collect();
      if (problems.length) {
        errors.replaceChildren(h('div', { class: 'error', role: 'alert' },
          h('strong', {}, 'Please fix: '), h('ul', {}, problems.map((p) => h('li', {}, p.message)))));
        const first = form.querySelector('[aria-invalid="true"]');
        if (first) first.focus();
        return;
      }
      const button = document.getElementById('submit');
      button.disabled = true;
      try {
        const saved = editing
          ? await api.patch(expPath(exp.id), { version: exp.version, ...body })
          : await api.post('v1/experiments', body);
        if (!v.live()) return;
        toast(editing ? `${saved.id} saved` : `${saved.id} created as a draft`);
        location.hash = `#/experiments/${encodeURIComponent(saved.id)}`;
      } catch (err) {
        if (!v.live()) return;
        if (err.field) fail(err.field, err.message);
        errors.replaceChildren(errorBox(err));
        errors.scrollIntoView({ block: 'nearest' });
      } finally {
        button.disabled = false;
      }
    }
    (editing ? name : id).focus();
  }

  async function renderEdit(id) {
    const v = view(`Edit ${id}`);
    let exp;
    try {
      exp = await api.get(expPath(id));
    } catch (err) {
      if (v.live()) main().append(h('h1', {}, `Edit ${id}`), errorBox(err));
      return;
    }
    if (!v.live()) return;
    if (exp.source === 'lamed') {
      main().append(h('h1', {}, `Edit ${id}`), h('p', { class: 'notice' }, 'Alephbet/Lamed experiments are defined by their clients and cannot be edited here.'));
      return;
    }
    renderForm(exp);
  }

  // ---------------------------------------------------------------- flags

  // Flags are read-only here: the list and each flag's rules, per
  // environment, as the admin API returns them (GrowthBook's rule shape).

  const FLAG_KINDS = ['release', 'experiment', 'operational', 'permission'];
  const BASE_ENVS = ['dev', 'production'];
  const flagHash = (key) => `#/flags/${encodeURIComponent(key)}`;

  // envOrder lists environment names as the dashboard shows them: dev and
  // production first, then the others by name.
  function envOrder(names) {
    const set = new Set(names);
    return [...BASE_ENVS.filter((n) => set.has(n)), ...[...set].filter((n) => !BASE_ENVS.includes(n)).sort()];
  }

  // jsonValue shows a flag value as JSON: inline when it fits a line, a
  // block when it does not.
  function jsonValue(v) {
    const text = JSON.stringify(v, null, 2);
    return text.includes('\n')
      ? h('pre', { class: 'json' }, h('code', {}, text))
      : h('code', { class: 'value' }, text);
  }

  function kindBadge(kind) {
    return h('span', { class: `badge kind-${FLAG_KINDS.includes(kind) ? kind : 'other'}`, 'data-kind': kind }, kind);
  }

  function envBadge(env) {
    return env.enabled
      ? h('span', { class: 'badge env-on', 'data-enabled': 'true' }, 'on')
      : h('span', { class: 'badge env-off', 'data-enabled': 'false' }, 'off');
  }

  function tagList(tags) {
    if (!tags || !tags.length) return h('span', { class: 'muted' }, '—');
    return h('ul', { class: 'tags' }, tags.map((t) => h('li', { class: 'badge tag' }, t)));
  }

  // flagMatches reports whether a flag matches the list's filter: its kind,
  // and the text in its key, description, owner or a tag.
  function flagMatches(flag, text, kind) {
    if (kind && flag.kind !== kind) return false;
    if (!text) return true;
    const needle = text.toLowerCase();
    return [flag.key, flag.description, flag.owner, ...(flag.tags || [])]
      .some((s) => s && s.toLowerCase().includes(needle));
  }

  async function renderFlags(params) {
    const v = view('Flags');
    const kind = FLAG_KINDS.includes(params.get('kind')) ? params.get('kind') : '';
    const search = h('input', { id: 'flag-filter', type: 'search', value: params.get('q') || '', autocomplete: 'off', spellcheck: 'false', placeholder: 'key, description, owner or tag' });
    const kinds = h('select', { id: 'flag-kind' },
      [['', 'All'], ...FLAG_KINDS.map((k) => [k, k])].map(([value, label]) => h('option', { value, selected: value === kind }, label)));
    const count = h('p', { class: 'muted', id: 'flag-count', 'aria-live': 'polite' });
    const out = h('div');
    main().append(
      h('div', { class: 'title-row' }, h('h1', {}, 'Flags')),
      h('p', { class: 'muted' }, 'Feature flags and their rules per environment. Flags are created and changed through the admin API (/v1/flags).'),
      h('div', { class: 'toolbar' },
        h('label', { for: 'flag-filter' }, 'Filter'), search,
        h('label', { for: 'flag-kind' }, 'Kind'), kinds),
      count, out);

    let flags;
    try {
      flags = (await api.get('v1/flags')).flags || [];
    } catch (err) {
      if (v.live()) out.replaceChildren(errorBox(err));
      return;
    }
    if (!v.live()) return;
    if (!flags.length) {
      out.replaceChildren(h('p', { class: 'empty' }, 'No flags yet: create them with POST /v1/flags.'));
      return;
    }
    flags.sort((a, b) => a.key.localeCompare(b.key));
    const envs = envOrder(flags.flatMap((f) => Object.keys(f.environments || {})));
    const td = (label, attrs, ...children) => h('td', { 'data-label': label, ...attrs }, h('div', { class: 'cell' }, children));
    const rows = flags.map((f) => ({
      flag: f,
      row: h('tr', { 'data-flag': f.key },
        td('Flag', {},
          h('a', { href: flagHash(f.key), class: 'mono' }, f.key),
          f.description ? h('div', { class: 'muted small' }, f.description) : null),
        td('Kind', {}, kindBadge(f.kind)),
        td('Value', { 'data-k': 'value_type' }, f.value_type),
        td('Owner', { 'data-k': 'owner' }, f.owner || h('span', { class: 'muted' }, '—')),
        td('Tags', { 'data-k': 'tags' }, tagList(f.tags)),
        envs.map((name) => {
          const env = f.environments[name];
          return td(name, { 'data-env': name, 'data-value': env ? (env.enabled ? 'on' : 'off') : '' },
            env ? envBadge(env) : h('span', { class: 'muted', title: `no ${name} environment` }, '—'));
        }),
        td('Updated', { class: 'dates' }, date(f.updated_at))),
    }));
    const none = h('tr', { hidden: true }, h('td', { colspan: 6 + envs.length, class: 'empty' }, 'No flag matches the filter.'));
    out.replaceChildren(h('table', { class: 'list', id: 'flags' },
      h('thead', {}, h('tr', {}, ['Flag', 'Kind', 'Value', 'Owner', 'Tags', ...envs, 'Updated'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => r.row), none)));

    // The filter applies in place and is kept in the URL without a new
    // route, so the text field keeps its focus while one types.
    function apply() {
      const text = search.value.trim();
      let shown = 0;
      for (const r of rows) {
        r.row.hidden = !flagMatches(r.flag, text, kinds.value);
        if (!r.row.hidden) shown++;
      }
      none.hidden = shown > 0;
      count.textContent = shown === rows.length ? `${rows.length} flags` : `${shown} of ${rows.length} flags`;
      const q = new URLSearchParams();
      if (text) q.set('q', text);
      if (kinds.value) q.set('kind', kinds.value);
      const qs = q.toString();
      history.replaceState(null, '', `#/flags${qs ? `?${qs}` : ''}`);
    }
    search.addEventListener('input', apply);
    kinds.addEventListener('change', apply);
    apply();
  }

  async function renderFlag(key) {
    const v = view(key);
    main().append(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
    let flag;
    let segments;
    try {
      [flag, segments] = await Promise.all([api.get(`v1/flags/${encodeURIComponent(key)}`), api.get('v1/segments')]);
    } catch (err) {
      if (v.live()) main().replaceChildren(h('h1', {}, key), errorBox(err), h('p', {}, h('a', { href: '#/flags' }, 'Back to the flags')));
      return;
    }
    if (!v.live()) return;
    const byKey = new Map((segments.segments || []).map((s) => [s.key, s]));
    const meta = [
      ['Owner', flag.owner || '—'], ['Value type', flag.value_type], ['Version', String(flag.version)],
      ['Created', date(flag.created_at)], ['Updated', date(flag.updated_at)],
    ];
    main().replaceChildren(
      h('header', {},
        h('p', { class: 'crumbs' }, h('a', { href: '#/flags' }, 'Flags'), ' / ', h('span', { class: 'mono' }, flag.key)),
        h('h1', {}, h('span', { class: 'mono' }, flag.key), ' ', kindBadge(flag.kind)),
        flag.description ? h('p', { id: 'flag-description', class: 'break' }, flag.description) : null,
        h('dl', { class: 'meta' }, meta.map(([k, val]) => h('div', {}, h('dt', {}, k), h('dd', {}, val)))),
        h('dl', { class: 'brief' },
          h('dt', {}, 'Default value'), h('dd', { id: 'flag-default' }, jsonValue(flag.default_value)),
          h('dt', {}, 'Tags'), h('dd', {}, tagList(flag.tags)))),
      ...envOrder(Object.keys(flag.environments)).map((name) => envSection(flag, name, flag.environments[name], byKey, v)));
  }

  // envSection shows one environment: on or off, and its rules in the order
  // SDKs try them, the first that applies giving the value.
  function envSection(flag, name, env, segments, v) {
    const id = `env-${name}`;
    const rules = env.rules || [];
    return h('section', { class: 'flag-env', 'data-env': name, 'aria-labelledby': id },
      h('h2', { id }, name, ' ', envBadge(env)),
      env.enabled ? null : h('p', { class: 'notice' },
        `Off in ${name}: OFREP answers the default value (reason DISABLED); GrowthBook's SDKs, whose payload leaves the flag out, evaluate it as unknown and the application's own fallback applies.`,
        rules.length ? ' The rules below are kept for when it is switched on.' : null),
      rules.length
        ? h('ol', { class: 'rules' }, rules.map((r, i) => ruleItem(flag, r, i, segments, v)))
        : h('p', { class: 'muted' }, 'No rules.'),
      h('p', { class: 'otherwise', 'data-k': 'otherwise' }, rules.length ? 'Otherwise, the default value ' : 'Every user gets the default value ', jsonValue(flag.default_value), '.'));
  }

  function ruleItem(flag, r, i, segments, v) {
    const when = [];
    when.push(h('dt', {}, 'If'), h('dd', { 'data-k': 'condition' }, r.condition
      ? h('pre', { class: 'json' }, h('code', {}, JSON.stringify(r.condition, null, 2)))
      : h('span', { class: 'muted' }, 'every user')));
    if (r.segments && r.segments.length) {
      when.push(h('dt', {}, 'and in'), h('dd', {}, h('ul', { class: 'segments' }, r.segments.map((key) => {
        const s = segments.get(key);
        return h('li', { 'data-segment': key },
          h('span', { class: 'mono' }, key), ' (segment)',
          s && s.description ? h('div', { class: 'muted small' }, s.description) : null,
          s ? h('pre', { class: 'json' }, h('code', {}, JSON.stringify(s.condition, null, 2)))
            // A segment in use cannot be deleted, but the flag and the
            // segments are two reads: a change between them shows here.
            : h('div', { class: 'error' }, `Segment ${key} was not among the segments read: they changed meanwhile, reload the page.`));
      }))));
    }
    when.push(h('dt', {}, 'Then'), h('dd', { 'data-k': 'action' }, ruleAction(flag, r, v)));
    return h('li', { class: 'rule', 'data-rule': String(i) },
      h('div', { class: 'rule-title' },
        h('strong', {}, `Rule ${i + 1}`),
        r.id ? [' ', h('span', { class: 'mono muted' }, r.id)] : null,
        r.description ? [' — ', h('span', { class: 'rule-description' }, r.description)] : null),
      h('dl', { class: 'brief' }, when));
  }

  const hashBy = (r) => r.hashAttribute || 'id';

  // ruleAction says what a rule gives: a forced value (to a sticky share of
  // users when it has a coverage), a GrowthBook experiment's variations, or
  // a linked refx experiment's variants.
  function ruleAction(flag, r, v) {
    if (r.force !== undefined) {
      return h('span', { class: 'sentence' }, 'force ', jsonValue(r.force),
        r.coverage === undefined || r.coverage === null ? null : ` to ${pct(r.coverage)} by ${hashBy(r)}`);
    }
    if (r.experiment) return linkedExperiment(r, v);
    const n = r.variations.length;
    const weights = r.weights || r.variations.map(() => 1 / n);
    const details = [
      `by ${hashBy(r)}`,
      r.coverage === undefined || r.coverage === null ? null : `${pct(r.coverage)} of matching users`,
      r.seed ? `seed ${r.seed}` : null,
      r.namespace ? `namespace ${r.namespace[0]} [${r.namespace[1]}, ${r.namespace[2]})` : null,
      r.hashVersion ? `hash v${r.hashVersion}` : null,
    ].filter(Boolean);
    return h('div', {},
      h('span', { class: 'sentence' }, 'experiment ', h('span', { class: 'mono' }, r.key || flag.key), ` (${details.join(', ')})`),
      h('div', { class: 'table-wrap' }, h('table', { class: 'variations' },
        h('thead', {}, h('tr', {}, ['Variation', 'Weight', 'Value'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, r.variations.map((x, j) => h('tr', {},
          h('th', { scope: 'row' }, String(j)),
          h('td', { class: 'num', 'data-k': 'weight', 'data-value': String(weights[j]) }, pct(weights[j])),
          h('td', {}, jsonValue(x))))))));
  }

  // experimentFlags lists, on an experiment's page, the flags whose rules
  // link to it: stopping or editing it changes what those flags serve.
  async function experimentFlags(section, exp, v) {
    const title = h('h2', { id: 'experiment-flags-title' }, 'Flags');
    let flags;
    try {
      flags = (await api.get('v1/flags')).flags || [];
    } catch (err) {
      if (v.live()) {
        section.hidden = false;
        section.replaceChildren(title, errorBox(err));
      }
      return;
    }
    if (!v.live()) return;
    const uses = flags
      .map((f) => [f, envOrder(Object.keys(f.environments)).filter((name) => (f.environments[name].rules || []).some((r) => r.experiment === exp.id))])
      .filter(([, envs]) => envs.length)
      .sort(([a], [b]) => a.key.localeCompare(b.key));
    if (!uses.length) return;
    section.hidden = false;
    section.replaceChildren(title,
      h('p', { class: 'muted' }, 'Rules of these flags serve the variants’ payloads as the flag’s value:'),
      h('ul', {}, uses.map(([f, envs]) => h('li', { 'data-flag': f.key },
        h('a', { class: 'mono', href: flagHash(f.key) }, f.key), ` in ${envs.join(', ')}`))));
  }

  // linkedExperiment links to the refx experiment whose variants' payloads
  // are the flag's values, and shows them once read. The payloads and SDKs
  // serve the rule only while the experiment runs; otherwise users fall
  // through to the next rule, which the page says.
  function linkedExperiment(r, v) {
    const id = r.experiment;
    const skipped = (why) => h('p', { class: 'warning', 'data-k': 'skipped' }, `${why}: SDKs skip this rule and users fall through to the next one.`);
    const details = h('div', { class: 'linked', 'aria-busy': 'true' }, h('span', { class: 'muted' }, 'Loading the experiment…'));
    (async () => {
      let exp;
      try {
        exp = await api.get(expPath(id));
      } catch (err) {
        // Through h, which leaves out the nulls replaceChildren would show as text.
        if (v.live()) details.replaceChildren(h('div', {}, errorBox(err), err.status === 404 ? skipped('The experiment does not exist') : null));
        return;
      } finally {
        details.removeAttribute('aria-busy');
      }
      if (!v.live()) return;
      const total = exp.variants.reduce((s, x) => s + x.weight, 0) || 1;
      details.replaceChildren(h('div', {},
        h('div', {}, exp.name || exp.id, ' ', statusBadge(exp.status), ` · coverage ${pct(exp.coverage)}`),
        exp.status === 'running' ? null : skipped(`Not running (${exp.status})`),
        h('div', { class: 'table-wrap' }, h('table', { class: 'variations' },
          h('thead', {}, h('tr', {}, ['Variant', 'Weight', 'Value'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, exp.variants.map((x) => h('tr', {},
            h('th', { scope: 'row' }, h('span', { class: 'mono' }, x.key), x.key === exp.control ? h('span', { class: 'badge muted-badge' }, 'control') : null),
            h('td', { class: 'num', 'data-k': 'weight', 'data-value': String(x.weight / total) }, pct(x.weight / total)),
            h('td', {}, x.payload === undefined ? h('span', { class: 'muted' }, 'none') : jsonValue(x.payload)))))))));
    })();
    return h('div', {},
      h('span', { class: 'sentence' }, 'the variant refx assigns in experiment ',
        h('a', { class: 'mono', 'data-k': 'experiment', href: `#/experiments/${encodeURIComponent(id)}` }, id),
        ` by ${hashBy(r)}: the value is the payload of the user’s variant, the one /v1/assign gives`),
      details);
  }

  // ---------------------------------------------------------------- governance

  // LIFECYCLE is an experiment's way from a draft to its conclusion, as the
  // stepper shows it; archived is off to the side.
  const LIFECYCLE = [
    ['draft', 'Draft'], ['in_review', 'In review'], ['approved', 'Approved'],
    ['running', 'Running'], ['stopped', 'Stopped'], ['concluded', 'Concluded'],
  ];
  const STATUSES = [...LIFECYCLE.map(([s]) => s), 'archived'];

  // statusSelect is a filter by status, any or one of STATUSES.
  function statusSelect(id, current, onchange) {
    return h('select', { id, onchange },
      [['', 'All'], ...LIFECYCLE, ['archived', 'Archived']].map(([value, label]) => h('option', { value, selected: value === current }, label)));
  }

  // ADMIN_ROLES is refx.AdminRoles, least to most: each allows what those
  // before it do.
  const ADMIN_ROLES = ['viewer', 'editor', 'approver', 'owner'];

  // allows reports whether the signed-in actor's role may do what needs
  // role need. The page hides what it would refuse; the API decides.
  function allows(actor, need) {
    const have = ADMIN_ROLES.indexOf(actor && actor.role);
    return have >= 0 && have >= ADMIN_ROLES.indexOf(need);
  }

  // me is who the admin key is (GET /v1/me), read once per key.
  let meCache = null;
  function me() {
    const key = adminKey();
    if (meCache && meCache.key === key) return meCache.actor;
    const actor = api.get('v1/me').then((r) => r.actor, (err) => {
      meCache = null;
      throw err;
    });
    meCache = { key, actor };
    return actor;
  }

  function actorName(a) {
    if (!a) return '—';
    return `${a.name || a.id}${a.role ? ` (${a.role})` : ''}`;
  }

  // when is a time to the second, for the log's entries.
  function when(s) {
    const d = new Date(s);
    if (!s || Number.isNaN(d.getTime())) return s || '—';
    return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  }

  const day = (s) => (s ? String(s).slice(0, 10) : '');

  function stepper(status) {
    const at = status === 'archived' ? LIFECYCLE.length : LIFECYCLE.findIndex(([s]) => s === status);
    return h('ol', { class: 'stepper', id: 'stepper', 'aria-label': 'Lifecycle', 'data-status': status },
      LIFECYCLE.map(([s, label], i) => h('li', {
        class: i < at ? 'done' : i === at ? 'current' : 'todo', 'data-step': s, 'aria-current': i === at ? 'step' : null,
      }, label)),
      status === 'archived' ? h('li', { class: 'current', 'data-step': 'archived', 'aria-current': 'step' }, 'Archived') : null);
  }

  // expTabs links an experiment's pages: its results, the review, the
  // conclusion and its history.
  function expTabs(exp, current) {
    const base = `#/experiments/${encodeURIComponent(exp.id)}`;
    return h('nav', { class: 'tabs', 'aria-label': 'Experiment' },
      [['overview', '', 'Results'], ['review', '/review', 'Review'], ['conclusion', '/conclusion', 'Conclusion'], ['history', '/history', 'History'],
        exp.referral ? ['referrers', '/referrers', 'Referrers'] : null]
        .filter(Boolean).map(([k, suffix, label]) => h('a', { href: base + suffix, 'data-tab': k, 'aria-current': k === current ? 'page' : null }, label)));
  }

  // LIFECYCLE_ACTIONS are the lifecycle routes: the role each needs (as
  // the API's role table, pkg/httpapi/roles.go, says), the statuses it
  // leaves (refx's lifecycle) and what it does. Only those the signed-in role may
  // use from the current status are shown; the API enforces both.
  const LIFECYCLE_ACTIONS = [
    { name: 'submit', id: 'submit-review', label: 'Submit for review', role: 'editor', from: ['draft'], note: true,
      text: 'An approver reviews the brief and the health checks before it starts.' },
    { name: 'request-changes', id: 'request-changes', label: 'Request changes', role: 'editor', from: ['in_review'], note: true, secondary: true,
      text: 'It goes back to draft; say what should change.' },
    { name: 'approve', id: 'approve', label: 'Approve', role: 'approver', from: ['in_review'], note: true,
      text: 'It may start once approved. The API refuses an approval by its last editor.' },
    { name: 'start', id: 'start', label: 'Start', role: 'editor', from: ['draft', 'approved'],
      text: 'Users are assigned and events counted from now on. Variants, goals and the control cannot change once it runs.' },
    { name: 'stop', id: 'stop', label: 'Stop', role: 'editor', from: ['running'], danger: true,
      text: 'Assignment returns the control and nothing more is counted. A stopped experiment cannot run again.' },
    { name: 'conclude', id: 'conclude', label: 'Conclude', role: 'editor', from: ['running', 'stopped'], page: '/conclusion' },
    { name: 'archive', id: 'archive', label: 'Archive', role: 'editor', from: ['draft', 'stopped', 'concluded'], note: true, secondary: true,
      text: 'It leaves the lists of active experiments; its log, conclusion and results stay.' },
  ];

  // lifecycleButtons are the actions the actor may take on exp now. A
  // refusal (a 403 with the role needed, a 409 for a transition) is shown
  // in out as the API words it.
  function lifecycleButtons(exp, actor, out, v, only) {
    return LIFECYCLE_ACTIONS
      .filter((a) => a.from.includes(exp.status) && allows(actor, a.role) && (!only || only.includes(a.name)))
      .map((a) => {
        if (a.page) return h('a', { class: 'button', id: a.id, 'data-action': a.name, href: `#/experiments/${encodeURIComponent(exp.id)}${a.page}` }, a.label);
        return h('button', {
          type: 'button', id: a.id, 'data-action': a.name, class: a.danger ? 'danger' : a.secondary ? 'secondary' : null,
          onclick: async () => {
            const title = `${a.label}: ${exp.id}?`;
            const note = a.note ? await askNote(title, a.text, a.label, a.danger) : (await confirmAction(title, a.text, a.label, a.danger)) ? '' : null;
            if (note === null) return;
            out.replaceChildren();
            try {
              await api.post(expPath(exp.id, `/${a.name}`), note ? { note } : {});
            } catch (err) {
              if (v.live()) out.replaceChildren(errorBox(err));
              return;
            }
            if (!v.live()) return;
            toast(`${exp.id}: ${a.label.toLowerCase()} done`);
            route();
          },
        }, a.label);
      });
  }

  // decisionText says a conclusion's decision in words.
  function decisionText(d) {
    if (!d) return '';
    if (d.startsWith('ship:')) return `ship ${d.slice(5)}`;
    return { rollback: 'roll back', iterate: 'iterate', inconclusive: 'inconclusive' }[d] || d;
  }

  const directionText = (d) => (d === 'decrease' ? 'lower is better' : 'higher is better');

  // primaryGoals are the keys of the goals the experiment is decided on.
  const primaryGoals = (exp) => (exp.goals || []).filter((g) => goalRole(exp, g) === 'primary').map((g) => g.key);

  function plannedDates(exp) {
    if (!exp.planned_start && !exp.planned_end) return null;
    return `${day(exp.planned_start) || '?'} → ${day(exp.planned_end) || '?'}`;
  }

  function actualDates(exp) {
    if (!exp.started_at) return null;
    return `${day(exp.started_at)} → ${exp.stopped_at ? day(exp.stopped_at) : 'now'}`;
  }

  // ---------------------------------------------------------------- log

  // LOG_PAGE is how many experiments the log shows at a time.
  const LOG_PAGE = 25;

  // renderLog is the experiment log of the platform: every experiment with
  // its status, planned and actual dates, owner, primary metric and
  // decision. The status filter is the API's; the owner filter is applied
  // to the pages read, which are read on until a page of the log is full.
  async function renderLog(params) {
    const v = view('Experiment log');
    const status = STATUSES.includes(params.get('status')) ? params.get('status') : '';
    const owner = (params.get('owner') || '').trim();
    const go = () => {
      const q = new URLSearchParams();
      if (statusFilter.value) q.set('status', statusFilter.value);
      if (ownerInput.value.trim()) q.set('owner', ownerInput.value.trim());
      const qs = q.toString();
      location.hash = `#/log${qs ? `?${qs}` : ''}`;
    };
    const statusFilter = statusSelect('log-status', status, go);
    const ownerInput = h('input', { id: 'log-owner', type: 'search', value: owner, autocomplete: 'off', spellcheck: 'false', placeholder: 'any', onchange: go });
    const tbody = h('tbody');
    const more = h('button', { type: 'button', class: 'secondary', id: 'log-more', hidden: true }, 'Load more');
    const out = h('div');
    const heads = ['Experiment', 'Status', 'Owner', 'Primary metric', 'Planned', 'Actual', 'Decision', 'Updated'];
    // data-hash names the route the table shows; data-ready says its first
    // page is in.
    const table = h('table', { class: 'list', id: 'log', 'data-hash': location.hash },
      h('thead', {}, h('tr', {}, heads.map((c) => h('th', { scope: 'col' }, c)))),
      tbody);
    main().append(
      h('div', { class: 'title-row' }, h('h1', {}, 'Experiment log')),
      h('p', { class: 'muted' }, 'Every experiment, its status and dates, and what was decided. Each experiment’s history of changes is on its History tab.'),
      h('div', { class: 'toolbar' },
        h('label', { for: 'log-status' }, 'Status'), statusFilter,
        h('label', { for: 'log-owner' }, 'Owner'), ownerInput),
      out,
      table,
      h('div', { class: 'actions' }, more));

    const td = (label, attrs, ...children) => h('td', { 'data-label': label, ...attrs }, h('div', { class: 'cell' }, children));
    const dash = () => h('span', { class: 'muted' }, '—');
    const row = (exp) => {
      const base = `#/experiments/${encodeURIComponent(exp.id)}`;
      const decision = exp.conclusion && exp.conclusion.decision;
      return h('tr', { 'data-experiment': exp.id, 'data-status': exp.status },
        td('Experiment', {},
          h('a', { href: base }, exp.name || exp.id),
          exp.kind === 'holdout' ? [' ', h('span', { class: 'badge', 'data-kind': 'holdout' }, 'holdout')] : null,
          h('div', { class: 'muted mono' }, exp.id),
          h('div', { class: 'small' }, h('a', { href: `${base}/review` }, 'review'), ' · ', h('a', { href: `${base}/history` }, 'history'),
            decision ? [' · ', h('a', { href: `${base}/conclusion` }, 'conclusion')] : null)),
        td('Status', {}, statusBadge(exp.status)),
        td('Owner', { 'data-k': 'owner' }, exp.owner || dash()),
        td('Primary metric', { 'data-k': 'primary' }, primaryGoals(exp).join(', ') || dash()),
        td('Planned', { class: 'dates', 'data-k': 'planned' }, plannedDates(exp) || dash()),
        td('Actual', { class: 'dates', 'data-k': 'actual' }, actualDates(exp) || dash()),
        td('Decision', { 'data-k': 'decision', 'data-value': decision || '' }, decision ? decisionText(decision) : dash()),
        td('Updated', { class: 'dates' }, date(exp.updated_at)));
    };

    const what = [status && `${status.replace('_', ' ')} experiments`, owner && `owned by ${owner}`].filter(Boolean).join(' ');
    const load = pageReader(v, out, tbody, more, LOG_PAGE, async (cursor) => {
      const page = await experimentsPage(LOG_PAGE, status, cursor);
      return {
        items: page.experiments.filter((e) => !owner || (e.owner || '').toLowerCase() === owner.toLowerCase()),
        next: page.next_cursor,
      };
    }, row, emptyRowOf(heads.length, what ? `No ${what}.` : 'No experiments yet.'),
    () => { table.dataset.ready = 'true'; });
    await load();
  }

  // ---------------------------------------------------------------- review

  // loadExperiment reads an experiment and who is signed in, or shows why
  // it could not.
  async function loadExperiment(v, id, title) {
    main().append(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
    try {
      const [exp, actor] = await Promise.all([api.get(expPath(id)), me()]);
      if (v.live()) document.title = `${title} · ${exp.name || exp.id} · refx`;
      return { exp, actor };
    } catch (err) {
      if (v.live()) main().replaceChildren(h('h1', {}, id), errorBox(err), h('p', {}, h('a', { href: '#/' }, 'Back to the experiments')));
      return null;
    }
  }

  // subHeader heads an experiment's review, conclusion and history pages.
  function subHeader(exp, tab, title) {
    return h('header', { class: 'exp-header' },
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Experiments'), ' / ',
        h('a', { class: 'mono', href: `#/experiments/${encodeURIComponent(exp.id)}` }, exp.id), ` / ${title}`),
      h('h1', {}, `${title}: `, exp.name || exp.id, ' ', statusBadge(exp.status)),
      stepper(exp.status),
      expTabs(exp, tab));
  }

  const CHECK_TONES = { ok: 'good', warning: 'warn', fail: 'bad', unknown: 'muted' };
  const CHECK_NAMES = { srm: 'Sample ratio', aa: 'A/A test', reachability: 'Planned sample reachable' };

  function healthChecks(health) {
    const checks = (health && health.checks) || [];
    if (!checks.length) return h('p', { class: 'muted' }, 'No health checks.');
    const badge = (status) => h('span', { class: `badge verdict-${CHECK_TONES[status] || 'muted'}` }, status);
    return h('div', {},
      health.overall ? h('p', { id: 'health-overall', 'data-value': health.overall }, 'Overall: ', badge(health.overall)) : null,
      h('ul', { class: 'health', id: 'health-checks' }, checks.map((c) => h('li', { 'data-check': c.name, 'data-status': c.status },
        badge(c.status), ' ', h('strong', {}, CHECK_NAMES[c.name] || c.name), c.message ? [': ', h('span', { class: 'sentence' }, c.message)] : null))));
  }

  // link shows a brief's link; only http(s) URLs become links.
  function link(l) {
    let url = null;
    try { url = new URL(l.url); } catch { /* shown as text */ }
    if (url && /^https?:$/.test(url.protocol)) {
      return h('a', { href: url.href, rel: 'noopener noreferrer', target: '_blank' }, l.title || url.href);
    }
    return h('span', {}, l.title || '', ' ', h('span', { class: 'mono muted break' }, l.url || ''));
  }

  function priorityText(p) {
    if (!p) return null;
    const parts = [['impact', p.impact], ['confidence', p.confidence], ['ease', p.ease]].filter(([, x]) => x != null).map(([k, x]) => `${k} ${num(x)}`);
    return `${p.score != null ? `score ${num(p.score)}` : 'no score'}${parts.length ? ` (${parts.join(', ')})` : ''}`;
  }

  // fullBrief is what a reviewer reads: the hypothesis, the metrics by role
  // with their directions, the audience, the plan and its links.
  function fullBrief(exp) {
    const none = (text) => h('span', { class: 'muted' }, text);
    const metrics = (role) => {
      const goals = (exp.goals || []).filter((g) => goalRole(exp, g) === role);
      const ratios = (exp.ratio_metrics || []).filter((r) => (r.role || 'secondary') === role);
      if (!goals.length && !ratios.length) return none('none');
      return h('ul', { class: 'metrics' },
        goals.map((g) => h('li', { 'data-goal': g.key }, h('span', { class: 'mono' }, g.key), ` (${g.kind}, ${directionText(g.direction)})`, goalRules(g))),
        ratios.map((r) => h('li', { 'data-ratio': r.key }, h('span', { class: 'mono' }, r.key), ` (ratio, ${directionText(r.direction)})`)));
    };
    const plannedSize = exp.planned_sample_size;
    const rows = [
      ['hypothesis', 'Hypothesis', exp.hypothesis || none('none given')],
      ['owner', 'Owner', exp.owner || none('none')],
      ...ROLES.map(([role, title]) => [`metrics-${role}`, title, metrics(role)]),
      ['audience', 'Audience', exp.audience ? jsonValue(exp.audience) : 'every user'],
      ['coverage', 'Coverage', pct(exp.coverage)],
      ['layer', 'Layer', exp.layer ? [h('span', { class: 'mono' }, exp.layer), ` [${(exp.layer_range || [0, 1]).join(', ')})`] : none('none')],
      ['planned', 'Planned dates', plannedDates(exp) || none('not set')],
      ['mde', 'Minimum detectable effect', exp.mde != null ? pct(exp.mde) : none('not set')],
      ['planned_sample_size', 'Planned sample size', plannedSize == null ? none('not computed (set the MDE)') : typeof plannedSize === 'number' ? num(plannedSize) : jsonValue(plannedSize)],
      ['priority', 'Priority', priorityText(exp.priority) || none('not set')],
      ['links', 'Links', (exp.links || []).length ? h('ul', { class: 'inline' }, exp.links.map((l) => h('li', {}, link(l)))) : none('none')],
      ['last_editor', 'Last editor', exp.last_editor ? h('span', { class: 'mono' }, exp.last_editor) : none('none recorded')],
      ['submitted_by', 'Submitted by', exp.submitted_by ? actorName(exp.submitted_by) : none('not submitted')],
      ['approval', 'Approval', exp.approval ? `${actorName(exp.approval.by)} at ${when(exp.approval.at)}` : none('not approved')],
    ];
    return h('section', { 'aria-labelledby': 'brief-title' },
      h('h2', { id: 'brief-title' }, 'Brief'),
      h('dl', { class: 'brief', id: 'brief' }, rows.map(([k, label, val]) => [h('dt', {}, label), h('dd', { 'data-k': k }, val)])));
  }

  async function renderReview(id) {
    const v = view(`Review ${id}`);
    const got = await loadExperiment(v, id, 'Review');
    if (!got || !v.live()) return;
    const { exp, actor } = got;
    const out = h('div', { id: 'action-errors' });
    const health = h('section', { id: 'health', 'aria-labelledby': 'health-title' },
      h('h2', { id: 'health-title' }, 'Health checks'),
      h('p', { class: 'muted', 'aria-busy': 'true' }, 'Running the checks…'));
    const buttons = lifecycleButtons(exp, actor, out, v, ['submit', 'approve', 'request-changes', 'start']);
    const state = {
      draft: 'A draft: its editors submit it for review when the brief is complete.',
      in_review: 'Waiting for an approver: read the brief and the health checks, then approve or request changes. Its last editor cannot approve it.',
      approved: 'Approved: it may start.',
    }[exp.status] || `The review is over: it is ${exp.status.replace('_', ' ')}.`;
    main().replaceChildren(
      subHeader(exp, 'review', 'Review'),
      h('p', { class: 'notice', id: 'review-state' }, state),
      out,
      buttons.length ? h('div', { class: 'actions', id: 'review-actions' }, buttons) : null,
      fullBrief(exp),
      health);
    try {
      const res = await api.get(expPath(id, '/health'));
      if (v.live()) health.replaceChildren(health.firstChild, healthChecks(res));
    } catch (err) {
      if (v.live()) health.replaceChildren(health.firstChild, errorBox(err));
    }
  }

  // ---------------------------------------------------------------- conclusion

  async function renderConclusion(id) {
    const v = view(`Conclusion ${id}`);
    const got = await loadExperiment(v, id, 'Conclusion');
    if (!got || !v.live()) return;
    const { exp, actor } = got;
    const out = h('div', { id: 'action-errors' });
    const body = h('div');
    main().replaceChildren(subHeader(exp, 'conclusion', 'Conclusion'), out, body);
    if (exp.conclusion) {
      let c;
      try {
        c = await api.get(expPath(id, '/conclusion'));
      } catch (err) {
        if (v.live()) body.replaceChildren(errorBox(err));
        return;
      }
      if (v.live()) body.replaceChildren(...concluded(exp, c));
      return;
    }
    if (exp.status !== 'running' && exp.status !== 'stopped') {
      body.replaceChildren(h('p', { class: 'notice', id: 'conclusion-state' },
        `Not concluded. An experiment is concluded once it has run; it is ${exp.status.replace('_', ' ')}.`));
      return;
    }
    if (!allows(actor, 'editor')) {
      body.replaceChildren(h('p', { class: 'notice', id: 'conclusion-state' }, 'Not concluded yet: an editor writes its conclusion.'));
      return;
    }
    body.replaceChildren(conclusionForm(exp, out, v));
  }

  function conclusionForm(exp, out, v) {
    const decision = h('select', { id: 'conclusion-decision', required: true },
      h('option', { value: '' }, 'Choose…'),
      (exp.variants || []).filter((x) => x.key !== exp.control).map((x) => h('option', { value: `ship:${x.key}` }, `Ship ${x.key}`)),
      h('option', { value: 'rollback' }, `Roll back (keep ${exp.control})`),
      h('option', { value: 'iterate' }, 'Iterate (a new experiment follows)'),
      h('option', { value: 'inconclusive' }, 'Inconclusive'));
    const learnings = h('textarea', { id: 'conclusion-learnings', rows: '6', required: true });
    const button = h('button', { type: 'submit', id: 'conclusion-submit' }, 'Conclude');
    return h('form', {
      id: 'conclusion-form', novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        out.replaceChildren();
        if (!decision.value || !learnings.value.trim()) {
          out.replaceChildren(h('div', { class: 'error', role: 'alert' }, 'Choose a decision and write what was learnt.'));
          return;
        }
        button.disabled = true;
        try {
          await api.post(expPath(exp.id, '/conclude'), { decision: decision.value, learnings: learnings.value.trim() });
        } catch (err) {
          if (v.live()) out.replaceChildren(errorBox(err));
          return;
        } finally {
          button.disabled = false;
        }
        if (!v.live()) return;
        toast(`${exp.id} concluded`);
        route();
      },
    },
    h('p', {}, 'The decision and the learnings are kept with the results as they are now, frozen: later events do not change them.',
      exp.status === 'running' ? ' Concluding a running experiment stops it.' : null),
    h('div', { class: 'field' }, h('label', { for: 'conclusion-decision' }, 'Decision'), decision),
    h('div', { class: 'field' }, h('label', { for: 'conclusion-learnings' }, 'Learnings'), learnings),
    h('div', { class: 'actions' }, button));
  }

  // concluded shows the conclusion (GET …/conclusion: the decision, its
  // author and time, and the results as they were then) and the frozen
  // results.
  function concluded(exp, con) {
    const res = con.results;
    const body = [
      h('dl', { class: 'brief', id: 'conclusion' },
        h('dt', {}, 'Decision'), h('dd', { 'data-k': 'decision', 'data-value': con.decision }, h('strong', {}, decisionText(con.decision))),
        h('dt', {}, 'Learnings'), h('dd', { 'data-k': 'learnings', class: 'prewrap' }, con.learnings || ''),
        h('dt', {}, 'Concluded by'), h('dd', { 'data-k': 'by' }, actorName(con.by)),
        h('dt', {}, 'At'), h('dd', { 'data-k': 'at' }, when(con.at))),
    ];
    if (!res || !res.analysis) {
      body.push(h('p', { class: 'muted' }, 'No results were frozen with this conclusion.'));
      return body;
    }
    const a = res.analysis;
    const participants = res.variants.reduce((n, x) => n + x.participants, 0);
    body.push(h('section', { id: 'frozen', 'aria-labelledby': 'frozen-title' },
      h('h2', { id: 'frozen-title' }, 'Results at the conclusion ', h('span', { class: 'badge verdict-neutral' }, 'frozen')),
      h('p', { class: 'notice', id: 'frozen-note' },
        `These are the results as they were when it was concluded (${when(con.at)}); they never change. `,
        h('a', { href: `#/experiments/${encodeURIComponent(exp.id)}`, id: 'live-results' }, 'The live results'), ' may differ.'),
      h('p', { class: 'muted', id: 'frozen-participants', 'data-value': String(participants) },
        `${engineName(a.engine)} engine, α = ${a.alpha}. Participants ${res.variants.map((x) => `${x.key}: ${num(x.participants)}`).join(' · ')}.`),
      (exp.goals || []).filter((g) => a.goals[g.key]).map((g) => {
        const ga = a.goals[g.key];
        return h('section', { class: 'goal', 'data-goal': g.key, 'data-role': goalRole(exp, g) },
          h('h4', {}, g.key, ' ', h('span', { class: 'muted' }, `(${goalRole(exp, g)}, ${directionText(g.direction)})`)),
          metricTable(ga.conversion_rate, a, 'Conversion rate', true),
          ga.value_per_participant ? metricTable(ga.value_per_participant, a, 'Value per participant', false) : null);
      })));
    return body;
  }

  // ---------------------------------------------------------------- history

  // HISTORY_PAGE is how many audit entries the history reads at a time.
  const HISTORY_PAGE = 20;

  // DIFF_SKIP are fields every change moves; the diff leaves them out.
  const DIFF_SKIP = new Set(['version', 'updated_at']);

  // leaves maps a JSON value to its leaves by path: {a: {b: 1}, c: [2]}
  // gives a.b → 1 and c[0] → 2; an empty object or array is a leaf.
  function leaves(value, path, out) {
    if (value && typeof value === 'object' && Object.keys(value).length) {
      for (const [k, x] of Object.entries(value)) leaves(x, Array.isArray(value) ? `${path}[${k}]` : path ? `${path}.${k}` : k, out);
    } else if (path) {
      out.set(path, value);
    }
    return out;
  }

  // changes is the field-level diff of an audit entry's before and after.
  function changes(before, after) {
    const b = leaves(before, '', new Map());
    const a = leaves(after, '', new Map());
    return [...new Set([...b.keys(), ...a.keys()])]
      .filter((k) => !DIFF_SKIP.has(k.split(/[.[]/)[0]) && JSON.stringify(b.get(k)) !== JSON.stringify(a.get(k)))
      .map((k) => ({ field: k, before: b.get(k), after: a.get(k), had: b.has(k), has: a.has(k) }));
  }

  function diffValue(present, v) {
    if (!present) return h('span', { class: 'muted' }, '—');
    return typeof v === 'string' ? v : h('code', { class: 'value' }, JSON.stringify(v));
  }

  function auditEntry(e) {
    const diff = changes(e.before, e.after);
    const table = diff.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'diff' },
        h('thead', {}, h('tr', {}, ['Field', 'Before', 'After'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, diff.map((d) => h('tr', { 'data-field': d.field },
          h('th', { scope: 'row', class: 'mono' }, d.field),
          h('td', { class: 'before' }, diffValue(d.had, d.before)),
          h('td', { class: 'after' }, diffValue(d.has, d.after)))))))
      : h('p', { class: 'muted small' }, 'No field changed.');
    const whole = e.before == null || e.after == null;
    return h('li', { class: 'entry', 'data-id': e.id, 'data-action': e.action },
      h('div', { class: 'entry-title' },
        h('strong', { 'data-k': 'action' }, e.action.replace(/[-_]/g, ' ')), ' by ',
        h('span', { 'data-k': 'actor' }, actorName(e.actor)), ' · ',
        h('time', { datetime: e.at, 'data-k': 'at' }, when(e.at))),
      e.note ? h('p', { class: 'note prewrap', 'data-k': 'note' }, e.note) : null,
      // A creation or deletion lists every field: folded.
      whole && diff.length ? h('details', {}, h('summary', {}, `${diff.length} fields ${e.before == null ? 'set' : 'removed'}`), table) : table);
  }

  async function renderHistory(id) {
    const v = view(`History ${id}`);
    const got = await loadExperiment(v, id, 'History');
    if (!got || !v.live()) return;
    const { exp } = got;
    const list = h('ol', { class: 'history', id: 'history', reversed: true });
    const more = h('button', { type: 'button', class: 'secondary', id: 'history-more', hidden: true }, 'Older changes');
    const out = h('div');
    main().replaceChildren(
      subHeader(exp, 'history', 'History'),
      h('p', { class: 'muted' }, 'Every change to this experiment, newest first: who made it, when, and what changed.'),
      out, list, h('div', { class: 'actions' }, more));
    async function load(cursor) {
      more.hidden = true;
      const q = new URLSearchParams({ resource: `experiment:${exp.id}`, limit: String(HISTORY_PAGE) });
      if (cursor) q.set('cursor', cursor);
      let page;
      try {
        page = await api.get(`v1/audit?${q}`);
      } catch (err) {
        if (v.live()) out.replaceChildren(errorBox(err));
        return;
      }
      if (!v.live()) return;
      list.append(...page.entries.map(auditEntry));
      if (!list.children.length) out.replaceChildren(h('p', { class: 'empty' }, 'No changes recorded.'));
      if (page.next) {
        more.hidden = false;
        more.onclick = () => load(page.next);
      }
    }
    await load('');
  }

  // ---------------------------------------------------------------- referral programs

  // The pages of referral programs that pay out: the rewards ledger, the
  // review queue of flagged signups with the blocks, the webhook
  // subscriptions with their delivery logs, the programs, and a referral
  // experiment's referrers. Actions are offered by the roles of
  // pkg/httpapi/roles.go; the API enforces them.

  const enc = encodeURIComponent;
  const listCell = (label, attrs, ...children) => h('td', { 'data-label': label, ...attrs }, h('div', { class: 'cell' }, children));
  const dash = () => h('span', { class: 'muted' }, '—');

  // pageReader reads pages of a listing into tbody until a page's worth of
  // rows is in (a filtered page may hold fewer rows and still have a next
  // one), then offers the rest behind the more button. read(cursor)
  // answers {items, next}; done runs after each load.
  function pageReader(v, out, tbody, more, want, read, row, emptyRow, done) {
    let cursor = '';
    let shown = 0;
    async function load() {
      more.hidden = true;
      let added = 0;
      do {
        let page;
        try {
          page = await read(cursor);
        } catch (err) {
          if (v.live()) out.replaceChildren(errorBox(err));
          return;
        }
        if (!v.live()) return;
        tbody.append(...page.items.map(row));
        added += page.items.length;
        cursor = page.next || '';
      } while (cursor && added < want);
      shown += added;
      if (!shown) tbody.append(emptyRow());
      if (cursor) {
        more.hidden = false;
        more.onclick = load;
      }
      if (done) done();
    }
    return load;
  }

  function emptyRowOf(cols, text) {
    return () => h('tr', {}, h('td', { colspan: cols, class: 'empty' }, text));
  }

  function listTable(id, heads, tbody) {
    return h('table', { class: 'list', id, 'data-hash': location.hash },
      h('thead', {}, h('tr', {}, heads.map((c) => h('th', { scope: 'col' }, c)))), tbody);
  }

  // filterHash is the route hash with the filters that have a value.
  function filterHash(base, filters) {
    const q = new URLSearchParams();
    for (const [k, el] of Object.entries(filters)) if (el.value.trim()) q.set(k, el.value.trim());
    const qs = q.toString();
    return `${base}${qs ? `?${qs}` : ''}`;
  }

  function optionsSelect(id, values, current, onchange) {
    return h('select', { id, onchange },
      [['', 'All'], ...values.map((s) => [s, s])].map(([value, label]) => h('option', { value, selected: value === current }, label)));
  }

  // ------------------------------------------------ rewards

  const REWARDS_PAGE = 25;
  const REWARD_STATUSES = ['pending', 'approved', 'issued', 'reversed', 'rejected'];
  const REWARD_TONES = { pending: 'warn', approved: 'good', issued: 'good', reversed: 'bad', rejected: 'muted' };
  // REWARD_MOVES are the ledger's moves and the statuses each takes (as
  // api.yaml's /v1/rewards/{id}/… say); each needs an editor.
  const REWARD_MOVES = [
    { name: 'approve', label: 'Approve', from: ['pending'],
      text: 'It is approved now instead of when its hold ends; the shop pays approved rewards.' },
    { name: 'issue', label: 'Mark issued', from: ['approved'], ask: 'Reference (the shop\u2019s id of the payout, coupon or credit)',
      text: 'The reward was paid: record the shop\u2019s reference.' },
    { name: 'reject', label: 'Reject', from: ['pending', 'approved'], ask: 'Note (kept as the reward\u2019s reason)', danger: true,
      text: 'It will not be paid. A rejected reward keeps its place in the caps.' },
    { name: 'reverse', label: 'Reverse', from: ['pending', 'approved', 'issued'], ask: 'Note (kept as the reward\u2019s reason)', danger: true,
      text: 'A refund or a chargeback: the reward is taken back, an issued one too.' },
  ];

  // money shows a decimal amount in its currency ("$10.00", "¥500"); a
  // currency the browser does not know is shown as the API wrote it.
  function money(amount, currency) {
    try {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(Number(amount));
    } catch {
      return `${amount} ${currency}`;
    }
  }

  // rewardState says a reward's state as its beneficiary would read it.
  function rewardState(r) {
    if (r.status === 'pending' && r.hold_until) return `pending until ${day(r.hold_until)}`;
    if (r.status === 'issued' && r.issued_ref) return `issued (${r.issued_ref})`;
    return r.status;
  }

  function rewardBadge(r) {
    return h('span', { class: `badge verdict-${REWARD_TONES[r.status] || 'muted'}`, 'data-status': r.status }, rewardState(r));
  }

  // rewardButtons are the moves actor may make on r now; moved gets the
  // reward as the API answers it.
  function rewardButtons(r, actor, moved, out, v) {
    if (!allows(actor, 'editor')) return null;
    return REWARD_MOVES.filter((m) => m.from.includes(r.status)).map((m) => h('button', {
      type: 'button', class: m.danger ? 'danger' : m.name === 'approve' ? null : 'secondary', 'data-action': m.name,
      onclick: async () => {
        const title = `${m.label}: ${money(r.amount, r.currency)} to ${r.beneficiary}?`;
        let body = {};
        if (m.name === 'issue') {
          const reference = await askText(title, m.text, m.label, false, m.ask, true);
          if (reference === null) return;
          body = { reference };
        } else if (m.ask) {
          const note = await askText(title, m.text, m.label, m.danger, m.ask);
          if (note === null) return;
          if (note) body = { note };
        } else if (!(await confirmAction(title, m.text, m.label))) return;
        out.replaceChildren();
        let next;
        try {
          next = await api.post(`v1/rewards/${enc(r.id)}/${m.name}`, body);
        } catch (err) {
          if (v.live()) out.replaceChildren(errorBox(err));
          return;
        }
        if (!v.live()) return;
        toast(`Reward ${r.id}: ${m.label.toLowerCase()} done`);
        moved(next);
      },
    }, m.label));
  }

  async function renderRewards(params) {
    const v = view('Rewards');
    const go = () => { location.hash = filterHash('#/rewards', { status: statusSel, beneficiary: benInput, experiment: expInput }); };
    const statusSel = optionsSelect('reward-status', REWARD_STATUSES, params.get('status') || '', go);
    const benInput = h('input', { id: 'reward-beneficiary', type: 'search', value: params.get('beneficiary') || '', autocomplete: 'off', spellcheck: 'false', placeholder: 'any user', onchange: go });
    const expInput = h('input', { id: 'reward-experiment', type: 'search', value: params.get('experiment') || '', autocomplete: 'off', spellcheck: 'false', placeholder: 'any experiment', onchange: go });
    const tbody = h('tbody');
    const out = h('div');
    const more = h('button', { type: 'button', class: 'secondary', id: 'rewards-more', hidden: true }, 'Load more');
    const heads = ['Reward', 'State', 'Beneficiary', 'Amount', 'Experiment', 'Qualifying event', 'Updated', 'Actions'];
    const table = listTable('rewards', heads, tbody);
    main().append(
      h('div', { class: 'title-row' }, h('h1', {}, 'Rewards')),
      h('p', { class: 'muted' }, 'The ledger of referral rewards: created from signups and conversions as the variants\u2019 reward plans say, pending through their hold, then approved, issued by the shop, or reversed.'),
      h('div', { class: 'toolbar' },
        h('label', { for: 'reward-status' }, 'Status'), statusSel,
        h('label', { for: 'reward-beneficiary' }, 'Beneficiary'), benInput,
        h('label', { for: 'reward-experiment' }, 'Experiment'), expInput),
      out, h('div', { class: 'table-wrap' }, table), h('div', { class: 'actions' }, more));
    let actor;
    try {
      actor = await me();
    } catch (err) {
      if (v.live()) out.replaceChildren(errorBox(err));
      return;
    }
    const row = (r) => {
      const tr = h('tr', { 'data-reward': r.id, 'data-status': r.status },
        listCell('Reward', {}, h('span', { class: 'mono small break' }, r.id), h('div', { class: 'muted small' }, `${r.role} · code `, h('span', { class: 'mono' }, r.code))),
        listCell('State', { 'data-k': 'state' }, rewardBadge(r), r.reason ? h('div', { class: 'muted small', 'data-k': 'reason' }, r.reason) : null),
        listCell('Beneficiary', { 'data-k': 'beneficiary' }, r.beneficiary),
        listCell('Amount', { class: 'num', 'data-k': 'amount', 'data-value': `${r.amount} ${r.currency}` }, money(r.amount, r.currency)),
        listCell('Experiment', {}, h('a', { class: 'mono', href: `#/experiments/${enc(r.experiment)}` }, r.experiment), ` / ${r.variant}`,
          r.program ? h('div', { class: 'muted small' }, `program ${r.program}`) : null),
        listCell('Qualifying event', {}, h('span', { class: 'mono small break' }, r.qualifying_event)),
        listCell('Updated', { class: 'dates' }, date(r.updated_at), r.by ? h('div', { class: 'muted small' }, actorName(r.by)) : null),
        listCell('Actions', { 'data-k': 'actions' }, rewardButtons(r, actor, (next) => tr.replaceWith(row(next)), out, v)));
      return tr;
    };
    const filtered = ['status', 'beneficiary', 'experiment'].some((k) => params.get(k));
    const load = pageReader(v, out, tbody, more, REWARDS_PAGE, async (cursor) => {
      const q = new URLSearchParams({ limit: String(REWARDS_PAGE) });
      for (const k of ['status', 'beneficiary', 'experiment']) if (params.get(k)) q.set(k, params.get(k).trim());
      if (cursor) q.set('cursor', cursor);
      const page = await api.get(`v1/rewards?${q}`);
      return { items: page.rewards || [], next: page.next_cursor };
    }, row, emptyRowOf(heads.length, filtered ? 'No reward matches the filters.' : 'No rewards yet: they come with the signups and conversions of referral variants that have a reward plan.'),
    () => { table.dataset.ready = 'true'; });
    await load();
  }

  // ------------------------------------------------ reviews and blocks

  const REVIEWS_PAGE = 25;

  // referralExperiments lists the referral experiments (a page of the
  // newest 200 experiments is plenty for a choice).
  async function referralExperiments() {
    const page = await experimentsPage(200, '', '');
    return (page.experiments || []).filter((e) => e.referral);
  }

  async function renderReviews(params) {
    const v = view('Reviews');
    const out = h('div');
    const tbody = h('tbody');
    const more = h('button', { type: 'button', class: 'secondary', id: 'reviews-more', hidden: true }, 'Load more');
    const heads = ['Referee', 'Referrer', 'Code', 'Variant', 'Reasons', 'Attributed', 'Decision'];
    const table = listTable('reviews', heads, tbody);
    const expSel = h('select', { id: 'review-experiment', onchange: () => { location.hash = filterHash('#/reviews', { experiment: expSel }); } });
    const blocks = h('section', { id: 'blocks-section', 'aria-labelledby': 'blocks-title' });
    main().append(
      h('div', { class: 'title-row' }, h('h1', {}, 'Reviews')),
      h('p', { class: 'muted' }, 'Signups flagged by the guards (too many per code, self-referral signs) wait here. Approving one counts it and lets its rewards proceed; rejecting one reverses what it counted and its rewards.'),
      h('div', { class: 'toolbar' }, h('label', { for: 'review-experiment' }, 'Experiment'), expSel),
      out, h('div', { class: 'table-wrap' }, table), h('div', { class: 'actions' }, more), blocks);
    let actor;
    let exps;
    try {
      [actor, exps] = await Promise.all([me(), referralExperiments()]);
    } catch (err) {
      if (v.live()) out.replaceChildren(errorBox(err));
      return;
    }
    if (!v.live()) return;
    renderBlocks(v, blocks, actor);
    const experiment = params.get('experiment') || (exps[0] && exps[0].id) || '';
    expSel.append(...exps.map((e) => h('option', { value: e.id, selected: e.id === experiment }, `${e.name || e.id} (${e.id})`)));
    if (!experiment) {
      tbody.append(emptyRowOf(heads.length, 'No referral experiments yet.')());
      table.dataset.ready = 'true';
      return;
    }
    const decide = (a, decision, cell) => async () => {
      const label = decision === 'approve' ? 'Approve' : 'Reject';
      const note = await askText(`${label} ${a.referee}\u2019s signup?`,
        decision === 'approve' ? 'It counts from now on and its rewards proceed.' : 'What it counted and its rewards are reversed.',
        label, decision === 'reject', 'Note (kept with the decision)');
      if (note === null) return;
      out.replaceChildren();
      let decided;
      try {
        decided = await api.post(`v1/reviews/${enc(a.referee)}/${decision}`, note ? { note } : {});
      } catch (err) {
        if (v.live()) out.replaceChildren(errorBox(err));
        return;
      }
      if (!v.live()) return;
      toast(`${a.referee}: ${decision === 'approve' ? 'approved' : 'rejected'}`);
      cell.closest('tr').dataset.decision = decision;
      cell.replaceChildren(h('span', { class: `badge verdict-${decision === 'approve' ? 'good' : 'bad'}` }, decision === 'approve' ? 'approved' : 'rejected'),
        h('div', { class: 'muted small' }, decided && decided.review ? decided.review.reviewed_by || '' : ''));
    };
    const row = (a) => {
      const cell = h('div', { class: 'cell' });
      if (allows(actor, 'editor')) {
        cell.append(h('button', { type: 'button', 'data-action': 'approve', onclick: decide(a, 'approve', cell) }, 'Approve'), ' ',
          h('button', { type: 'button', class: 'danger', 'data-action': 'reject', onclick: decide(a, 'reject', cell) }, 'Reject'));
      } else cell.append(dash());
      return h('tr', { 'data-referee': a.referee },
        listCell('Referee', {}, h('span', { class: 'mono' }, a.referee)),
        listCell('Referrer', { 'data-k': 'referrer' }, h('span', { class: 'mono' }, a.referrer)),
        listCell('Code', {}, h('span', { class: 'mono' }, a.code)),
        listCell('Variant', {}, h('span', { class: 'mono' }, a.variant)),
        listCell('Reasons', { 'data-k': 'reasons' }, (a.reasons || []).length ? h('ul', { class: 'tags' }, a.reasons.map((r) => h('li', { class: 'badge verdict-warn' }, r))) : dash()),
        listCell('Attributed', { class: 'dates' }, date(a.attributed_at)),
        h('td', { 'data-label': 'Decision', 'data-k': 'decision' }, cell));
    };
    const load = pageReader(v, out, tbody, more, REVIEWS_PAGE, async (cursor) => {
      const q = new URLSearchParams({ experiment, limit: String(REVIEWS_PAGE) });
      if (cursor) q.set('cursor', cursor);
      const page = await api.get(`v1/reviews?${q}`);
      return { items: page.referrals || page.reviews || [], next: page.next_cursor };
    }, row, emptyRowOf(heads.length, 'Nothing to review: no flagged signup waits for a decision.'), () => { table.dataset.ready = 'true'; });
    await load();
  }

  // renderBlocks fills section with the blocks of codes and referrers
  // (their links lead to the fallback page and their pending rewards are
  // held), a form to add one and a button to lift each.
  async function renderBlocks(v, section, actor) {
    const out = h('div');
    const tbody = h('tbody');
    const more = h('button', { type: 'button', class: 'secondary', id: 'blocks-more', hidden: true }, 'Load more');
    const heads = ['Blocked', 'Reason', 'Since', ''];
    const table = listTable('blocks', heads, tbody);
    const editor = allows(actor, 'editor');
    const kind = h('select', { id: 'block-kind' }, h('option', { value: 'code' }, 'Code'), h('option', { value: 'referrer' }, 'Referrer'));
    const id = h('input', { id: 'block-id', required: true, autocomplete: 'off', spellcheck: 'false', maxlength: '128' });
    const reason = h('input', { id: 'block-reason', autocomplete: 'off', maxlength: '500', placeholder: 'why' });
    const row = (b) => h('tr', { 'data-block': `${b.kind}/${b.id}` },
      listCell('Blocked', {}, h('span', { class: 'badge' }, b.kind), ' ', h('span', { class: 'mono' }, b.id)),
      listCell('Reason', { class: 'break' }, b.reason || dash()),
      listCell('Since', { class: 'dates' }, date(b.created_at), b.created_by ? h('div', { class: 'muted small' }, b.created_by) : null),
      listCell('', {}, editor ? h('button', {
        type: 'button', class: 'secondary', 'data-action': 'unblock',
        onclick: async (e) => {
          if (!(await confirmAction(`Lift the block of ${b.kind} ${b.id}?`, 'Its links work again and its held rewards proceed.', 'Lift'))) return;
          out.replaceChildren();
          try {
            await api.del(`v1/blocks/${enc(b.kind)}/${enc(b.id)}`);
          } catch (err) {
            if (v.live()) out.replaceChildren(errorBox(err));
            return;
          }
          toast(`${b.kind} ${b.id}: block lifted`);
          e.target.closest('tr').remove();
        },
      }, 'Lift') : null));
    const form = editor ? h('form', {
      id: 'block-form', class: 'toolbar',
      onsubmit: async (e) => {
        e.preventDefault();
        out.replaceChildren();
        let b;
        try {
          b = await api.post('v1/blocks', { [kind.value]: id.value.trim(), reason: reason.value.trim() });
        } catch (err) {
          if (v.live()) out.replaceChildren(errorBox(err));
          return;
        }
        if (!v.live()) return;
        toast(`${b.kind} ${b.id} blocked`);
        tbody.querySelector('td.empty')?.closest('tr').remove();
        tbody.querySelector(`tr[data-block="${CSS.escape(`${b.kind}/${b.id}`)}"]`)?.remove();
        tbody.prepend(row(b));
        id.value = '';
        reason.value = '';
      },
    }, h('label', { for: 'block-kind' }, 'Block'), kind, id, h('label', { for: 'block-reason' }, 'Reason'), reason, h('button', { type: 'submit' }, 'Block')) : null;
    section.append(h('h2', { id: 'blocks-title' }, 'Blocks'),
      h('p', { class: 'muted' }, 'A blocked code, or every code of a blocked referrer, leads to the fallback page; its signups are refused and its pending rewards held.'),
      form, out, h('div', { class: 'table-wrap' }, table), h('div', { class: 'actions' }, more));
    const load = pageReader(v, out, tbody, more, REVIEWS_PAGE, async (cursor) => {
      const q = new URLSearchParams({ limit: String(REVIEWS_PAGE) });
      if (cursor) q.set('cursor', cursor);
      const page = await api.get(`v1/blocks?${q}`);
      return { items: page.blocks || [], next: page.next_cursor };
    }, row, emptyRowOf(heads.length, 'Nothing is blocked.'), () => { table.dataset.ready = 'true'; });
    await load();
  }

  // ------------------------------------------------ webhooks

  const WEBHOOK_EVENTS = ['referral.attributed', 'referral.flagged', 'referral.converted', 'reward.approved', 'reward.reversed'];
  const DELIVERIES_PAGE = 50;

  function eventBoxes(name, checked, disabled) {
    return h('fieldset', { class: 'events', 'data-field': 'events' }, h('legend', {}, 'Events'),
      WEBHOOK_EVENTS.map((ev) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name, value: ev, checked: checked.includes(ev), disabled }), ' ', h('span', { class: 'mono' }, ev))));
  }

  const checkedEvents = (root) => [...root.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);

  // secretBox shows a signing secret the one time the API answers it.
  function secretBox(w) {
    return h('div', { class: 'notice', id: 'webhook-secret', role: 'status', 'data-webhook': w.id },
      h('strong', {}, 'Signing secret of ', h('span', { class: 'mono' }, w.id), ': '), h('code', { class: 'mono break' }, w.secret),
      h('p', { class: 'small' }, 'Store it now: it is not shown again. Verify each delivery\u2019s Refx-Signature header (t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">) with it.'));
  }

  async function renderWebhooks() {
    const v = view('Webhooks');
    const out = h('div');
    const shown = h('div');
    const tbody = h('tbody');
    const more = h('button', { type: 'button', class: 'secondary', id: 'webhooks-more', hidden: true }, 'Load more');
    const heads = ['Subscription', 'Events', 'State', 'Updated'];
    const table = listTable('webhooks', heads, tbody);
    const form = h('form', { id: 'webhook-form', hidden: true });
    main().append(
      h('div', { class: 'title-row' }, h('h1', {}, 'Webhooks')),
      h('p', { class: 'muted' }, 'Signed POSTs to the shop\u2019s backend when referrals are attributed, flagged or converted and when rewards are approved or reversed; retried with backoff until the receiver answers 2xx.'),
      shown, form, out, h('div', { class: 'table-wrap' }, table), h('div', { class: 'actions' }, more));
    let actor;
    try {
      actor = await me();
    } catch (err) {
      if (v.live()) out.replaceChildren(errorBox(err));
      return;
    }
    const row = (w) => h('tr', { 'data-webhook': w.id },
      listCell('Subscription', {}, h('a', { class: 'mono', href: `#/webhooks/${enc(w.id)}` }, w.id),
        h('div', { class: 'break small', 'data-k': 'url' }, w.url), w.description ? h('div', { class: 'muted small' }, w.description) : null),
      listCell('Events', { 'data-k': 'events' }, h('ul', { class: 'tags' }, (w.events || []).map((ev) => h('li', { class: 'badge tag' }, ev)))),
      listCell('State', {}, w.disabled ? h('span', { class: 'badge env-off' }, 'disabled') : h('span', { class: 'badge env-on' }, 'active')),
      listCell('Updated', { class: 'dates' }, date(w.updated_at)));
    if (allows(actor, 'editor')) {
      const url = h('input', { id: 'webhook-url', type: 'url', required: true, placeholder: 'https://shop.example/hooks/refx', maxlength: '2048' });
      const description = h('input', { id: 'webhook-description', maxlength: '500', placeholder: 'what it is for' });
      const events = eventBoxes('webhook-events', WEBHOOK_EVENTS, false);
      form.append(h('fieldset', {}, h('legend', {}, 'New subscription'),
        h('div', { class: 'field' }, h('label', { for: 'webhook-url' }, 'URL (https)'), url),
        h('div', { class: 'field' }, h('label', { for: 'webhook-description' }, 'Description'), description),
        events,
        h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'webhook-create' }, 'Subscribe'))));
      form.hidden = false;
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        out.replaceChildren();
        shown.replaceChildren();
        let w;
        try {
          w = await api.post('v1/webhooks', { url: url.value.trim(), events: checkedEvents(events), description: description.value.trim() || undefined });
        } catch (err) {
          if (v.live()) out.replaceChildren(errorBox(err));
          return;
        }
        if (!v.live()) return;
        shown.replaceChildren(secretBox(w));
        tbody.querySelector('td.empty')?.closest('tr').remove();
        tbody.prepend(row(w));
        url.value = '';
        description.value = '';
      });
    }
    const load = pageReader(v, out, tbody, more, 50, async (cursor) => {
      const q = new URLSearchParams({ limit: '50' });
      if (cursor) q.set('cursor', cursor);
      const page = await api.get(`v1/webhooks?${q}`);
      return { items: page.webhooks || [], next: page.next_cursor };
    }, row, emptyRowOf(heads.length, 'No subscriptions yet.'), () => { table.dataset.ready = 'true'; });
    await load();
  }

  async function renderWebhook(id) {
    const v = view(id);
    main().append(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
    let w;
    let actor;
    try {
      [w, actor] = await Promise.all([api.get(`v1/webhooks/${enc(id)}`), me()]);
    } catch (err) {
      if (v.live()) main().replaceChildren(h('h1', {}, id), errorBox(err), h('p', {}, h('a', { href: '#/webhooks' }, 'Back to the webhooks')));
      return;
    }
    if (!v.live()) return;
    const out = h('div');
    const shown = h('div');
    const editor = allows(actor, 'editor');
    const events = eventBoxes('edit-events', w.events || [], !editor);
    const disabled = h('input', { id: 'webhook-disabled', type: 'checkbox', checked: !!w.disabled, disabled: !editor });
    const buttons = [];
    if (editor) {
      buttons.push(h('button', {
        type: 'button', id: 'webhook-save',
        onclick: async () => {
          out.replaceChildren();
          try {
            w = await api.patch(`v1/webhooks/${enc(w.id)}`, { version: w.version, events: checkedEvents(events), disabled: disabled.checked });
          } catch (err) {
            if (v.live()) out.replaceChildren(errorBox(err));
            return;
          }
          if (!v.live()) return;
          toast(`${w.id}: saved (version ${w.version})`);
          main().querySelector('#webhook-version').textContent = String(w.version);
        },
      }, 'Save'), h('button', {
        type: 'button', class: 'secondary', id: 'webhook-rotate',
        onclick: async () => {
          if (!(await confirmAction(`Rotate the secret of ${w.id}?`, 'Deliveries are signed with the new secret within seconds; the old one stops verifying.', 'Rotate'))) return;
          out.replaceChildren();
          let rotated;
          try {
            rotated = await api.post(`v1/webhooks/${enc(w.id)}/rotate-secret`);
          } catch (err) {
            if (v.live()) out.replaceChildren(errorBox(err));
            return;
          }
          if (!v.live()) return;
          w = rotated;
          shown.replaceChildren(secretBox(rotated));
        },
      }, 'Rotate secret'));
    }
    if (allows(actor, 'owner')) {
      buttons.push(h('button', {
        type: 'button', class: 'danger', id: 'webhook-delete',
        onclick: async () => {
          if (!(await confirmAction(`Delete ${w.id}?`, 'Nothing more is delivered to it; messages already queued are dropped.', 'Delete', true))) return;
          out.replaceChildren();
          try {
            await api.del(`v1/webhooks/${enc(w.id)}`);
          } catch (err) {
            if (v.live()) out.replaceChildren(errorBox(err));
            return;
          }
          toast(`${w.id} deleted`);
          location.hash = '#/webhooks';
        },
      }, 'Delete'));
    }
    const tbody = h('tbody');
    const more = h('button', { type: 'button', class: 'secondary', id: 'deliveries-more', hidden: true }, 'Older attempts');
    const heads = ['Event', 'Type', 'Attempt', 'At', 'Status', 'Latency', 'Error'];
    const table = listTable('deliveries', heads, tbody);
    main().replaceChildren(
      h('header', {},
        h('p', { class: 'crumbs' }, h('a', { href: '#/webhooks' }, 'Webhooks'), ' / ', h('span', { class: 'mono' }, w.id)),
        h('h1', {}, h('span', { class: 'mono' }, w.id)),
        h('p', { class: 'break', id: 'webhook-url-shown' }, w.url),
        w.description ? h('p', { class: 'muted' }, w.description) : null,
        h('dl', { class: 'meta' },
          h('div', {}, h('dt', {}, 'Version'), h('dd', { id: 'webhook-version' }, String(w.version))),
          h('div', {}, h('dt', {}, 'Created'), h('dd', {}, date(w.created_at))))),
      shown,
      h('section', { 'aria-labelledby': 'sub-title' }, h('h2', { id: 'sub-title' }, 'Subscription'),
        events, h('label', { class: 'check' }, disabled, ' Disabled (nothing is delivered)'),
        h('div', { class: 'actions' }, buttons)),
      out,
      h('section', { 'aria-labelledby': 'deliveries-title' }, h('h2', { id: 'deliveries-title' }, 'Deliveries'),
        h('p', { class: 'muted' }, 'Every attempt, newest first, kept 30 days. An event keeps its id across attempts.'),
        h('div', { class: 'table-wrap' }, table), h('div', { class: 'actions' }, more)));
    const row = (d) => h('tr', { 'data-event': d.event, 'data-attempt': String(d.attempt), 'data-delivered': String(!!d.delivered) },
      listCell('Event', {}, h('span', { class: 'mono small break' }, d.event)),
      listCell('Type', {}, h('span', { class: 'mono' }, d.type)),
      listCell('Attempt', { class: 'num' }, String(d.attempt)),
      listCell('At', { class: 'dates' }, when(d.at)),
      listCell('Status', { 'data-k': 'status' }, h('span', { class: `badge verdict-${d.delivered ? 'good' : 'bad'}` }, d.status_code ? String(d.status_code) : 'no answer')),
      listCell('Latency', { class: 'num' }, `${num(d.latency_ms)} ms`),
      listCell('Error', { class: 'small break' }, d.error || dash()));
    const load = pageReader(v, out, tbody, more, DELIVERIES_PAGE, async (cursor) => {
      const q = new URLSearchParams({ limit: String(DELIVERIES_PAGE) });
      if (cursor) q.set('cursor', cursor);
      const page = await api.get(`v1/webhooks/${enc(w.id)}/deliveries?${q}`);
      return { items: page.deliveries || [], next: page.next_cursor };
    }, row, emptyRowOf(heads.length, 'Nothing delivered yet.'), () => { table.dataset.ready = 'true'; });
    await load();
  }

  // ------------------------------------------------ programs

  // offerText says what an offer is: its source and the payload's text.
  function offerText(o) {
    if (!o) return dash();
    return h('div', {}, h('span', { class: 'mono' }, o.source || o.key || 'default'),
      o.payload !== undefined ? h('div', { class: 'small' }, jsonValue(o.payload)) : null,
      o.rewards ? h('div', { class: 'small', 'data-k': 'rewards' }, rewardPlanText(o.rewards)) : null);
  }

  // rewardPlanText says a variant's reward plan in a line.
  function rewardPlanText(plan) {
    const rule = (role, r) => {
      if (!r) return null;
      const what = r.amount ? money(r.amount, r.currency) : `${r.percent}% (${r.currency})`;
      const extra = [r.min_value && `min ${r.min_value}`, r.hold_days && `hold ${r.hold_days} d`, r.cap_per_month && `${r.cap_per_month}/month`, r.cap_lifetime && `${r.cap_lifetime} max`].filter(Boolean);
      return `${role}: ${what} on ${r.on}${extra.length ? ` (${extra.join(', ')})` : ''}`;
    };
    return [rule('referrer', plan.referrer), rule('referee', plan.referee)].filter(Boolean).join('; ') || '—';
  }

  async function renderPrograms() {
    const v = view('Programs');
    const out = h('div');
    const tbody = h('tbody');
    const heads = ['Program', 'Current offer', 'Clicks', 'Signups', 'Conversions', 'Value', 'Updated'];
    const table = listTable('programs', heads, tbody);
    main().append(
      h('div', { class: 'title-row' }, h('h1', {}, 'Programs')),
      h('p', { class: 'muted' }, 'A program outlives its experiments: once one ends, its codes serve the program\u2019s current offer (the shipped variant, or the default) and count here. Programs are created and changed through the admin API (/v1/programs).'),
      out, h('div', { class: 'table-wrap' }, table));
    let programs;
    try {
      programs = (await api.get('v1/programs?limit=100')).programs || [];
    } catch (err) {
      if (v.live()) out.replaceChildren(errorBox(err));
      return;
    }
    if (!v.live()) return;
    if (!programs.length) tbody.append(emptyRowOf(heads.length, 'No programs yet.')());
    const results = await Promise.all(programs.map((p) => api.get(`v1/programs/${enc(p.id)}/results`).catch(() => null)));
    if (!v.live()) return;
    programs.forEach((p, i) => {
      const r = results[i] || {};
      tbody.append(h('tr', { 'data-program': p.id },
        listCell('Program', {}, h('strong', {}, p.name || p.id), h('div', { class: 'mono small' }, p.id), h('div', { class: 'break small' }, p.landing_url)),
        listCell('Current offer', { 'data-k': 'offer' }, offerText(p.current_offer)),
        ['clicks', 'signups', 'conversions'].map((k) => listCell(k, { class: 'num', 'data-k': k }, results[i] ? num(r[k]) : '—')),
        listCell('Value', { class: 'num', 'data-k': 'value' }, results[i] ? num(Number(r.value)) : '—'),
        listCell('Updated', { class: 'dates' }, date(p.updated_at))));
    });
    table.dataset.ready = 'true';
  }

  // ------------------------------------------------ referrers

  const LEADER_BYS = [['signups', 'Signups'], ['conversions', 'Conversions'], ['value', 'Value']];

  // renderReferrers is a referral experiment's referrers: the leaderboard
  // (GET …/leaderboard) and its funnel per channel of the links.
  async function renderReferrers(id, params) {
    const v = view('Referrers');
    const got = await loadExperiment(v, id, 'Referrers');
    if (!got || !v.live()) return;
    const { exp } = got;
    const by = LEADER_BYS.some(([k]) => k === params.get('by')) ? params.get('by') : 'signups';
    const bySel = h('select', { id: 'leader-by', onchange: () => { location.hash = `#/experiments/${enc(exp.id)}/referrers?by=${bySel.value}`; } },
      LEADER_BYS.map(([value, label]) => h('option', { value, selected: value === by }, label)));
    const out = h('div');
    const board = h('tbody');
    const channels = h('div', { id: 'channels-out' });
    main().replaceChildren(
      subHeader(exp, 'referrers', 'Referrers'),
      exp.referral ? null : h('p', { class: 'notice' }, 'Not a referral experiment: it has no referrers.'),
      h('section', { 'aria-labelledby': 'leader-title' }, h('h2', { id: 'leader-title' }, 'Leaderboard'),
        h('div', { class: 'toolbar' }, h('label', { for: 'leader-by' }, 'Top referrers by'), bySel),
        out,
        h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'leaderboard' },
          h('thead', {}, h('tr', {}, ['#', 'Referrer', 'Code', 'Variant', 'Clicks', 'Signups', 'Conversions', 'Value'].map((c) => h('th', { scope: 'col' }, c)))), board))),
      h('section', { 'aria-labelledby': 'channels-title' }, h('h2', { id: 'channels-title' }, 'Channels'),
        h('p', { class: 'muted' }, 'The funnel by the channel of the referee\u2019s click (/r/{code}?channel= or utm_source).'), channels));
    if (!exp.referral) return;
    const [lb, res] = await Promise.all([
      api.get(expPath(exp.id, `/leaderboard?by=${by}&limit=25`)).catch((err) => err),
      api.get(expPath(exp.id, '/results')).catch((err) => err),
    ]);
    if (!v.live()) return;
    if (lb instanceof Error) out.replaceChildren(errorBox(lb));
    else {
      const entries = lb.entries || [];
      board.append(...entries.map((e) => h('tr', { 'data-referrer': e.referrer },
        listCell('#', { class: 'num' }, String(e.rank)),
        listCell('Referrer', {}, h('span', { class: 'mono' }, e.referrer)),
        listCell('Code', {}, h('span', { class: 'mono' }, e.code)),
        listCell('Variant', {}, h('span', { class: 'mono' }, e.variant)),
        ['clicks', 'signups', 'conversions'].map((k) => listCell(k, { class: 'num', 'data-k': k }, num(e[k]))),
        listCell('Value', { class: 'num', 'data-k': 'value' }, num(Number(e.value))))));
      if (!entries.length) board.append(emptyRowOf(8, 'No referrer has a signup yet.')());
      main().querySelector('#leaderboard').dataset.ready = 'true';
    }
    if (res instanceof Error) {
      channels.replaceChildren(errorBox(res));
      return;
    }
    const rows = [];
    for (const x of res.variants || []) {
      for (const [ch, c] of Object.entries((x.referral && x.referral.channels) || {}).sort(([a], [b]) => a.localeCompare(b))) {
        rows.push(h('tr', { 'data-channel': ch, 'data-variant': x.key },
          h('th', { scope: 'row' }, ch), h('td', { class: 'mono' }, x.key),
          ['clicks', 'signups', 'conversions'].map((k) => h('td', { class: 'num', 'data-k': k }, num(c[k]))),
          h('td', { class: 'num', 'data-k': 'value' }, num(Number(c.value)))));
      }
    }
    channels.replaceChildren(rows.length
      ? h('div', { class: 'table-wrap' }, h('table', { id: 'channels' },
        h('thead', {}, h('tr', {}, ['Channel', 'Variant', 'Clicks', 'Signups', 'Conversions', 'Value'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows)))
      : h('p', { class: 'empty', id: 'channels' }, 'No clicks yet.'));
  }

  // ---------------------------------------------------------------- routing

  // showWhoami says in the top bar who the admin key is, and offers to
  // create experiments only to those who may. It runs before the route
  // renders, and its answer comes after (a promise's), so the list's
  // button exists by then.
  function showWhoami() {
    const el = document.getElementById('whoami');
    me().then((a) => {
      el.textContent = actorName(a);
      el.hidden = false;
      document.getElementById('nav-new').hidden = !allows(a, 'editor');
      document.querySelectorAll('#new-experiment').forEach((b) => { b.hidden = !allows(a, 'editor'); });
    }, () => { el.hidden = true; });
  }

  function route() {
    const [path, query] = (location.hash.slice(1) || '/').split('?');
    const params = new URLSearchParams(query || '');
    if (!adminKey()) {
      renderLogin();
      return;
    }
    document.getElementById('forget').hidden = false;
    showWhoami();
    let m;
    if (path === '/' || path === '') renderList(params);
    else if (path === '/new') renderForm(null);
    else if ((m = path.match(/^\/experiments\/([^/]+)$/))) renderExperiment(decodeURIComponent(m[1]), params);
    else if ((m = path.match(/^\/experiments\/([^/]+)\/edit$/))) renderEdit(decodeURIComponent(m[1]));
    else if ((m = path.match(/^\/experiments\/([^/]+)\/review$/))) renderReview(decodeURIComponent(m[1]));
    else if ((m = path.match(/^\/experiments\/([^/]+)\/conclusion$/))) renderConclusion(decodeURIComponent(m[1]));
    else if ((m = path.match(/^\/experiments\/([^/]+)\/history$/))) renderHistory(decodeURIComponent(m[1]));
    else if (path === '/log') renderLog(params);
    else if (path === '/flags') renderFlags(params);
    else if ((m = path.match(/^\/flags\/([^/]+)$/))) renderFlag(decodeURIComponent(m[1]));
    else if ((m = path.match(/^\/experiments\/([^/]+)\/referrers$/))) renderReferrers(decodeURIComponent(m[1]), params);
    else if (path === '/rewards') renderRewards(params);
    else if (path === '/reviews') renderReviews(params);
    else if (path === '/webhooks') renderWebhooks();
    else if ((m = path.match(/^\/webhooks\/([^/]+)$/))) renderWebhook(decodeURIComponent(m[1]));
    else if (path === '/programs') renderPrograms();
    else {
      view('Not found');
      main().append(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the experiments')));
    }
    main().focus({ preventScroll: true });
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.getElementById('forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY_STORAGE);
      route();
    });
    window.addEventListener('hashchange', route);
    route();
  });
})();
