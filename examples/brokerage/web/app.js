// Hoviyat brokerage example page: inquiry -> OTP -> selfie video -> decision.
// Plain JS, no build step. Reason texts come from the server's catalogue
// (/api/reasons); only the page's own labels live here.
'use strict';

(() => {
  const UI = {
    fa: {
      title: 'احراز هویت غیرحضوری',
      langToggle: 'English', langToggleLabel: 'Switch to English', langToggleLang: 'en',
      bannerFake: 'حالت آزمایشی: تحلیل تصویر جعلی (fake) است و ویدئو واقعاً بررسی نمی‌شود.',
      bannerDevGeo: 'حالت توسعه: نشانی‌های محلی به‌عنوان داخل ایران در نظر گرفته می‌شوند.',
      stepInfo: 'اطلاعات', stepOTP: 'کد تأیید', stepVideo: 'ویدئو', stepResult: 'نتیجه', steps: 'مراحل',
      formTitle: 'مشخصات خود را وارد کنید',
      formLead: 'برای احراز هویت غیرحضوری، کد ملی، تاریخ تولد و شماره همراهی را که به نام خودتان است وارد کنید.',
      nationalID: 'کد ملی', nationalIDHelp: 'ده رقم، بدون خط تیره',
      birthDate: 'تاریخ تولد (هجری شمسی)', year: 'سال', month: 'ماه', day: 'روز',
      mobile: 'شماره همراه', mobileHelp: 'سیم‌کارتی که به نام خودتان ثبت شده است',
      inquire: 'استعلام', inquiryTitle: 'نتیجه استعلام',
      greeting: (f, l) => `${f} ${l} گرامی، شما می‌توانید احراز هویت غیرحضوری را انجام دهید.`,
      eligible: 'امکان احراز هویت غیرحضوری وجود دارد.',
      notEligible: 'امکان احراز هویت غیرحضوری وجود ندارد:',
      inPerson: 'لطفاً برای احراز هویت حضوری به یکی از دفاتر پیشخوان مراجعه کنید.',
      attemptsLeft: (n) => `تعداد دفعات باقی‌مانده برای ارسال ویدئو: ${fa(n)}`,
      sendOTP: 'ارسال کد تأیید', edit: 'ویرایش مشخصات',
      otpTitle: 'کد تأیید', otpSent: (m) => `کد شش‌رقمی به شماره ${m} پیامک شد.`,
      otpCode: 'کد تأیید', confirm: 'تأیید', resend: 'ارسال دوباره کد',
      cameraTitle: 'ضبط ویدئوی سلفی', readAloud: 'در طول ضبط، این متن را با صدای بلند بخوانید:',
      turnLeft: 'در میانه ضبط، سر خود را کمی به چپ بچرخانید و برگردید.',
      turnRight: 'در میانه ضبط، سر خود را کمی به راست بچرخانید و برگردید.',
      cameraLabel: 'پیش‌نمایش دوربین',
      tipLight: 'در جای پرنور بایستید و نور پشت سرتان نباشد.',
      tipAlone: 'فقط خودتان در تصویر باشید؛ عینک آفتابی و ماسک را بردارید.',
      tipFrame: 'صورت خود را داخل بیضی نگه دارید و گوشی را ثابت بگیرید.',
      record: 'شروع ضبط (۵ ثانیه)', recording: 'در حال ضبط',
      cameraStarting: 'در حال روشن کردن دوربین…',
      cameraDenied: 'دسترسی به دوربین ممکن نشد. لطفاً اجازه دسترسی به دوربین را بدهید و صفحه را دوباره بارگذاری کنید.',
      noRecorder: 'این مرورگر از ضبط ویدئو پشتیبانی نمی‌کند. لطفاً از نسخه جدید کروم، فایرفاکس یا سافاری استفاده کنید.',
      sessionInfo: (t, n) => `این جلسه تا ساعت ${t} معتبر است. دفعات باقی‌مانده: ${fa(n)}`,
      uploadTitle: 'ارسال ویدئو', uploading: 'پیشرفت ارسال', analysing: 'در حال بررسی ویدئو…',
      uploadPct: (p, s) => `${fa(p)}٪ از ${s}`,
      approved: 'هویت شما تأیید شد', approvedLead: 'احراز هویت غیرحضوری شما با موفقیت انجام شد.',
      rejected: 'ویدئو پذیرفته نشد', rejectedLead: 'دلیل:',
      review: 'در انتظار بررسی کارشناس', reviewLead: 'ویدئوی شما برای بررسی نهایی به کارشناس ارسال شد. نتیجه به شما اطلاع داده می‌شود.',
      locked: 'احراز هویت غیرحضوری مسدود شد', lockedLead: 'دلیل:',
      errorTitle: 'ویدئو بررسی نشد', errorLead: 'این تلاش جزو دفعات مجاز شما حساب نشد.',
      retry: 'ضبط دوباره', restart: 'شروع از ابتدا',
      fixHint: 'چه باید کرد: ',
      network: 'ارتباط با سرور برقرار نشد. اتصال اینترنت را بررسی کنید و دوباره تلاش کنید.',
      rateLimited: (s) => `درخواست‌ها بیش از حد مجاز است. لطفاً ${fa(s)} ثانیه دیگر دوباره تلاش کنید.`,
      fillAll: 'لطفاً همه خانه‌ها را پر کنید.',
      footer: 'ویدئو و نتیجه بررسی به‌صورت رمزنگاری‌شده نگهداری می‌شود. نمونه مرجع Hoviyat.',
    },
    en: {
      title: 'Remote identity verification',
      langToggle: 'فارسی', langToggleLabel: 'به فارسی', langToggleLang: 'fa',
      bannerFake: 'Test mode: fake vision is on; the video is not really analysed.',
      bannerDevGeo: 'Development mode: local addresses count as inside Iran.',
      stepInfo: 'Details', stepOTP: 'Code', stepVideo: 'Video', stepResult: 'Result', steps: 'Steps',
      formTitle: 'Enter your details',
      formLead: 'To verify remotely, enter your national ID, birth date and a mobile number registered in your own name.',
      nationalID: 'National ID', nationalIDHelp: 'Ten digits, no dashes',
      birthDate: 'Birth date (Solar Hijri)', year: 'Year', month: 'Month', day: 'Day',
      mobile: 'Mobile number', mobileHelp: 'A SIM card registered in your own name',
      inquire: 'Check eligibility', inquiryTitle: 'Eligibility',
      greeting: (f, l) => `Dear ${f} ${l}, you can verify your identity remotely.`,
      eligible: 'You can verify your identity remotely.',
      notEligible: 'Remote verification is not possible:',
      inPerson: 'Please visit a service centre to verify in person.',
      attemptsLeft: (n) => `Video uploads left: ${n}`,
      sendOTP: 'Send verification code', edit: 'Edit details',
      otpTitle: 'Verification code', otpSent: (m) => `A six-digit code was sent by SMS to ${m}.`,
      otpCode: 'Code', confirm: 'Confirm', resend: 'Send a new code',
      cameraTitle: 'Record a selfie video', readAloud: 'While recording, read this text aloud:',
      turnLeft: 'Halfway through, turn your head a little to the left and back.',
      turnRight: 'Halfway through, turn your head a little to the right and back.',
      cameraLabel: 'Camera preview',
      tipLight: 'Stand in good light, with no light source behind you.',
      tipAlone: 'Be alone in the picture; take off sunglasses and masks.',
      tipFrame: 'Keep your face inside the oval and hold the phone steady.',
      record: 'Start recording (5 seconds)', recording: 'Recording',
      cameraStarting: 'Starting the camera…',
      cameraDenied: 'The camera could not be opened. Allow camera access and reload the page.',
      noRecorder: 'This browser cannot record video. Please use a recent Chrome, Firefox or Safari.',
      sessionInfo: (t, n) => `This session is valid until ${t}. Uploads left: ${n}`,
      uploadTitle: 'Sending the video', uploading: 'Upload progress', analysing: 'Checking the video…',
      uploadPct: (p, s) => `${p}% of ${s}`,
      approved: 'Identity verified', approvedLead: 'Your remote identity verification is complete.',
      rejected: 'Video not accepted', rejectedLead: 'Why:',
      review: 'Waiting for an operator', reviewLead: 'Your video was sent to an operator for the final check. You will be told the result.',
      locked: 'Remote verification locked', lockedLead: 'Why:',
      errorTitle: 'The video could not be checked', errorLead: 'This try did not count against your allowed uploads.',
      retry: 'Record again', restart: 'Start over',
      fixHint: 'What to do: ',
      network: 'Could not reach the server. Check your connection and try again.',
      rateLimited: (s) => `Too many requests. Please try again in ${s} seconds.`,
      fillAll: 'Please fill in every field.',
      footer: 'The video and the decision are stored encrypted. Hoviyat reference example.',
    },
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    lang: 'fa',
    config: null,
    catalogue: {},
    applicant: null,
    nationalID: '',
    session: null,
    stream: null,
    view: null, // re-renders dynamic content on a language change
    message: null,
  };

  function fa(n) {
    return state.lang === 'fa' ? Number(n).toLocaleString('fa-IR') : String(n);
  }
  function t(key, ...args) {
    const v = UI[state.lang][key];
    return typeof v === 'function' ? v(...args) : v;
  }
  function toLatinDigits(s) {
    return String(s).replace(/[\u06F0-\u06F9]/g, (d) => String(d.charCodeAt(0) - 0x06F0))
      .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660));
  }

  // ---- language ----
  function applyLang(lang) {
    state.lang = lang;
    const root = document.documentElement;
    root.lang = lang;
    root.dir = lang === 'fa' ? 'rtl' : 'ltr';
    document.title = t('title');
    document.querySelectorAll('[data-i18n]').forEach((el) => {
      el.textContent = t(el.dataset.i18n);
    });
    const tog = $('lang-toggle');
    tog.textContent = t('langToggle');
    tog.lang = t('langToggleLang');
    tog.setAttribute('aria-label', t('langToggleLabel'));
    document.querySelector('.steps').setAttribute('aria-label', t('steps'));
    $('preview').setAttribute('aria-label', t('cameraLabel'));
    if (state.view) state.view();
    if (state.message) showMessage(state.message);
    try { localStorage.setItem('hoviyat-lang', lang); } catch (e) { /* private mode */ }
  }

  // ---- steps ----
  const stepOrder = ['form', 'otp', 'camera', 'decision'];
  function show(step) {
    ['form', 'inquiry', 'otp', 'camera', 'upload', 'decision'].forEach((s) => {
      $('step-' + s).hidden = s !== step;
    });
    document.body.dataset.step = step;
    const group = { form: 'form', inquiry: 'form', otp: 'otp', camera: 'camera', upload: 'camera', decision: 'decision' }[step];
    const idx = stepOrder.indexOf(group);
    document.querySelectorAll('.steps li').forEach((li) => {
      const i = stepOrder.indexOf(li.dataset.for);
      li.classList.toggle('done', i < idx);
      li.classList.toggle('current', i === idx);
      if (i === idx) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
    });
    const h = $('step-' + step).querySelector('h2');
    if (h) { h.tabIndex = -1; h.focus({ preventScroll: false }); }
  }

  // ---- messages ----
  function reasonItem(code) {
    const info = state.catalogue[code];
    const li = document.createElement('li');
    li.dataset.code = code;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = info ? info[state.lang] : code;
    li.appendChild(text);
    if (info) {
      const hint = document.createElement('span');
      hint.className = 'hint';
      hint.textContent = t('fixHint') + info['hint_' + state.lang];
      li.appendChild(hint);
    }
    return li;
  }
  function fillReasons(ul, codes) {
    ul.replaceChildren(...(codes || []).map(reasonItem));
  }
  function clearMessage() {
    state.message = null;
    $('message').hidden = true;
    $('message').replaceChildren();
  }
  // msg: {text} or {error: apiError} or {key, args}
  function showMessage(msg) {
    state.message = msg;
    const box = $('message');
    box.replaceChildren();
    let text = msg.text;
    if (msg.key) text = t(msg.key, ...(msg.args || []));
    const err = msg.error;
    let codes = [];
    if (err) {
      codes = err.reasons && err.reasons.length ? err.reasons : (err.reason ? [err.reason] : []);
      if (err.code === 'rate_limited') text = t('rateLimited', err.retry_after_seconds || 1);
      else if (!codes.length) text = err.message;
    }
    if (text) {
      const p = document.createElement('p');
      p.className = 'message-text';
      p.textContent = text;
      box.appendChild(p);
    }
    if (codes.length) {
      const ul = document.createElement('ul');
      codes.forEach((c) => ul.appendChild(reasonItem(c)));
      box.appendChild(ul);
    }
    box.dataset.code = err ? err.code : '';
    box.hidden = false;
  }

  // ---- API ----
  async function api(method, path, body) {
    let res;
    try {
      res = await fetch(path, {
        method,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
        credentials: 'same-origin',
      });
    } catch (e) {
      throw { code: 'network', message: t('network') };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* empty */ }
    if (!res.ok) throw (data && data.error) || { code: 'http_' + res.status, message: res.statusText };
    return data;
  }

  // ---- step 1: inquiry ----
  function readForm() {
    const nid = toLatinDigits($('national-id').value.trim());
    const y = toLatinDigits($('birth-year').value.trim());
    const m = toLatinDigits($('birth-month').value.trim());
    const d = toLatinDigits($('birth-day').value.trim());
    const mobile = toLatinDigits($('mobile').value.trim());
    if (!nid || !y || !m || !d || !mobile) return null;
    return { national_id: nid, birth_date: `${y}/${m.padStart(2, '0')}/${d.padStart(2, '0')}`, mobile };
  }

  async function onInquiry(ev) {
    ev.preventDefault();
    clearMessage();
    const a = readForm();
    if (!a) { showMessage({ key: 'fillAll' }); return; }
    const btn = $('btn-inquiry');
    btn.disabled = true;
    try {
      const el = await api('POST', '/api/inquiry', a);
      state.applicant = a;
      state.nationalID = a.national_id;
      state.view = () => renderInquiry(el);
      state.view();
      show('inquiry');
    } catch (err) {
      showMessage({ error: err });
    } finally {
      btn.disabled = false;
    }
  }

  function renderInquiry(el) {
    const box = $('inquiry-result');
    box.replaceChildren();
    const p = document.createElement('p');
    box.appendChild(p);
    box.dataset.eligible = String(el.eligible);
    if (el.eligible) {
      p.className = 'greeting';
      p.textContent = el.first_name ? t('greeting', el.first_name, el.last_name) : t('eligible');
      const left = document.createElement('p');
      left.className = 'muted';
      left.textContent = t('attemptsLeft', el.attempts_left);
      box.appendChild(left);
    } else {
      p.textContent = t('notEligible');
      const ul = document.createElement('ul');
      ul.className = 'reasons';
      fillReasons(ul, el.reasons);
      box.appendChild(ul);
      if (el.in_person_required) {
        const ip = document.createElement('p');
        ip.textContent = t('inPerson');
        box.appendChild(ip);
      }
    }
    $('btn-send-otp').hidden = !el.eligible;
  }

  // ---- step 2: OTP ----
  async function onSendOTP() {
    clearMessage();
    $('btn-send-otp').disabled = true;
    $('btn-resend').disabled = true;
    try {
      const tk = await api('POST', '/api/otp', state.applicant);
      // The masked number is isolated left-to-right inside the RTL sentence.
      state.view = () => { $('otp-sent').textContent = t('otpSent', '\u2066' + tk.mobile + '\u2069'); };
      state.view();
      $('otp-code').value = '';
      show('otp');
      $('otp-code').focus();
    } catch (err) {
      showMessage({ error: err });
    } finally {
      $('btn-send-otp').disabled = false;
      $('btn-resend').disabled = false;
    }
  }

  async function onConfirmOTP(ev) {
    ev.preventDefault();
    clearMessage();
    const code = toLatinDigits($('otp-code').value.trim());
    if (!code) { showMessage({ key: 'fillAll' }); return; }
    $('btn-confirm').disabled = true;
    try {
      await api('POST', '/api/otp/confirm', { national_id: state.nationalID, code });
      await beginSession();
    } catch (err) {
      showMessage({ error: err });
    } finally {
      $('btn-confirm').disabled = false;
    }
  }

  // ---- step 3: camera and recording ----
  async function beginSession() {
    const s = await api('POST', '/api/sessions', state.applicant);
    state.session = s;
    state.view = renderSession;
    renderSession();
    show('camera');
    await startCamera();
  }

  function renderSession() {
    const s = state.session;
    if (!s) return;
    $('challenge').textContent = s.challenge;
    const turn = $('head-turn');
    turn.hidden = !s.head_turn;
    if (s.head_turn) turn.textContent = t(s.head_turn === 'left' ? 'turnLeft' : 'turnRight');
    const until = new Date(s.expires_at).toLocaleTimeString(state.lang === 'fa' ? 'fa-IR' : 'en-GB',
      { hour: '2-digit', minute: '2-digit' });
    $('session-info').textContent = t('sessionInfo', until, s.attempts_left);
    $('btn-record').textContent = state.lang === 'fa'
      ? `شروع ضبط (${fa(s.record_seconds)} ثانیه)` : `Start recording (${s.record_seconds} seconds)`;
  }

  async function startCamera() {
    const btn = $('btn-record');
    btn.disabled = true;
    if (!window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showMessage({ key: 'noRecorder' });
      return;
    }
    if (state.stream) { btn.disabled = false; return; }
    const video = { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 720 } };
    try {
      try {
        state.stream = await navigator.mediaDevices.getUserMedia({ video, audio: true });
      } catch (e) {
        // Without a microphone the video alone is still checked.
        state.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
      }
    } catch (e) {
      showMessage({ key: 'cameraDenied' });
      return;
    }
    const v = $('preview');
    v.srcObject = state.stream;
    try { await v.play(); } catch (e) { /* autoplay of a muted element is allowed */ }
    btn.disabled = false;
  }

  function stopCamera() {
    if (state.stream) state.stream.getTracks().forEach((tr) => tr.stop());
    state.stream = null;
    $('preview').srcObject = null;
  }

  function pickMime() {
    const types = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm', 'video/mp4'];
    return types.find((m) => MediaRecorder.isTypeSupported(m)) || '';
  }

  function onRecord() {
    clearMessage();
    const btn = $('btn-record');
    btn.disabled = true;
    const mime = pickMime();
    let rec;
    try {
      rec = new MediaRecorder(state.stream, mime ? { mimeType: mime, videoBitsPerSecond: 2500000 } : {});
    } catch (e) {
      showMessage({ key: 'noRecorder' });
      return;
    }
    const chunks = [];
    rec.ondataavailable = (e) => { if (e.data && e.data.size) chunks.push(e.data); };
    rec.onstop = () => {
      $('rec').hidden = true;
      $('countdown').hidden = true;
      stopCamera();
      const type = (rec.mimeType || mime || 'video/webm').split(';')[0];
      upload(new Blob(chunks, { type }), type);
    };
    const secs = state.session.record_seconds || 5;
    let left = secs;
    const cd = $('countdown');
    cd.textContent = fa(left);
    cd.hidden = false;
    $('rec').hidden = false;
    document.body.dataset.recording = 'true';
    rec.start(250);
    const timer = setInterval(() => {
      left -= 1;
      if (left > 0) { cd.textContent = fa(left); return; }
      clearInterval(timer);
      document.body.dataset.recording = 'false';
      rec.stop();
    }, 1000);
  }

  // ---- step 4: upload and decision ----
  function humanSize(n) {
    const mb = n / (1024 * 1024);
    const s = mb >= 1 ? mb.toFixed(1) + ' MB' : Math.max(1, Math.round(n / 1024)) + ' KB';
    return state.lang === 'fa' ? toPersianDigits(s.replace('MB', 'مگابایت').replace('KB', 'کیلوبایت')) : s;
  }
  function toPersianDigits(s) {
    return String(s).replace(/[0-9]/g, (d) => String.fromCharCode(0x06F0 + Number(d))).replace('.', '٫');
  }

  function upload(blob, type) {
    show('upload');
    const bar = $('upload-progress');
    bar.value = 0;
    $('analysing').hidden = true;
    const total = blob.size;
    const setText = (loaded) => {
      const pct = total ? Math.round((loaded / total) * 100) : 0;
      bar.value = pct;
      $('upload-text').textContent = t('uploadPct', pct, humanSize(total));
    };
    state.view = () => setText(bar.value * total / 100);
    setText(0);
    const fd = new FormData();
    const ext = type === 'video/mp4' ? 'mp4' : 'webm';
    fd.append('video', blob, 'selfie.' + ext);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', state.session.upload_url);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) setText(e.loaded); };
    xhr.upload.onload = () => {
      setText(total);
      $('analysing').hidden = false;
      document.body.dataset.uploaded = 'true';
    };
    xhr.onload = () => {
      const data = xhr.response;
      if (xhr.status === 200 && data) {
        showDecision(data);
      } else {
        showUploadError((data && data.error) || { code: 'http_' + xhr.status, message: xhr.statusText });
      }
    };
    xhr.onerror = () => showUploadError({ code: 'network', message: t('network') });
    xhr.send(fd);
  }

  function showDecision(d) {
    state.decision = d;
    state.view = () => renderDecision(d);
    renderDecision(d);
    show('decision');
  }

  function renderDecision(d) {
    const box = $('decision');
    box.dataset.outcome = d.outcome;
    const key = { approved: 'approved', rejected: 'rejected', review: 'review', locked: 'locked' }[d.outcome] || 'rejected';
    $('decision-title').textContent = t(key);
    const lead = $('decision-lead');
    lead.textContent = t(key + 'Lead');
    fillReasons($('decision-reasons'), d.reasons);
    const left = $('attempts-left');
    left.textContent = d.outcome === 'approved' ? '' : t('attemptsLeft', d.attempts_left) +
      (d.in_person_required ? ' — ' + t('inPerson') : '');
    $('btn-retry').hidden = !d.can_retry;
  }

  // An SDK error on upload (unusable video, expired session) is not a
  // decision and did not count; the applicant may record again.
  function showUploadError(err) {
    const render = () => {
      const box = $('decision');
      box.dataset.outcome = 'error';
      box.dataset.code = err.code;
      $('decision-title').textContent = t('errorTitle');
      $('decision-lead').textContent = err.code === 'network' ? t('network') : t('errorLead');
      const codes = err.reasons && err.reasons.length ? err.reasons : (err.reason ? [err.reason] : []);
      fillReasons($('decision-reasons'), codes);
      if (!codes.length && err.code !== 'network') {
        const li = document.createElement('li');
        li.textContent = err.code === 'rate_limited' ? t('rateLimited', err.retry_after_seconds || 1) : err.message;
        $('decision-reasons').appendChild(li);
      }
      $('attempts-left').textContent = '';
      const retryable = !['not_eligible', 'locked', 'attempts_exhausted', 'already_verified', 'in_review'].includes(err.code);
      $('btn-retry').hidden = !retryable;
    };
    state.view = render;
    render();
    show('decision');
  }

  async function onRetry() {
    clearMessage();
    $('btn-retry').disabled = true;
    try {
      await beginSession();
    } catch (err) {
      showMessage({ error: err });
    } finally {
      $('btn-retry').disabled = false;
    }
  }

  function onRestart() {
    clearMessage();
    stopCamera();
    state.session = null;
    state.view = null;
    show('form');
  }

  // ---- start ----
  async function init() {
    let lang = 'fa';
    const q = new URLSearchParams(location.search).get('lang');
    if (q === 'en' || q === 'fa') lang = q;
    else {
      try { lang = localStorage.getItem('hoviyat-lang') || 'fa'; } catch (e) { /* ignore */ }
    }
    applyLang(lang === 'en' ? 'en' : 'fa');
    $('lang-toggle').addEventListener('click', () => applyLang(state.lang === 'fa' ? 'en' : 'fa'));
    $('form-inquiry').addEventListener('submit', onInquiry);
    $('btn-send-otp').addEventListener('click', onSendOTP);
    $('btn-edit').addEventListener('click', onRestart);
    $('form-otp').addEventListener('submit', onConfirmOTP);
    $('btn-resend').addEventListener('click', onSendOTP);
    $('btn-record').addEventListener('click', onRecord);
    $('btn-retry').addEventListener('click', onRetry);
    $('btn-restart').addEventListener('click', onRestart);
    try {
      const [cfg, cat] = await Promise.all([api('GET', '/api/config'), api('GET', '/api/reasons')]);
      state.config = cfg;
      cat.reasons.forEach((r) => { state.catalogue[r.code] = r; });
      $('banner-fake').hidden = cfg.vision !== 'fake';
      $('banner-devgeo').hidden = !cfg.dev_geoip;
    } catch (err) {
      showMessage({ error: err });
    }
    show('form');
    document.body.dataset.ready = 'true';
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
