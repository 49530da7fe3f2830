// The ring of the agent desktop: a short two-tone chime, repeated every RING_EVERY_MS while at least one
// session is offered (Invited), silent once none is. Tones are synthesised with the Web Audio API (no sound
// file to ship). Browsers start audio only after a user gesture; signing in is one, so the desktop's first
// ring is heard. After a reload (no gesture yet) the browser keeps audio suspended: `blocked` says so, and the
// desktop shows "Click to enable ringing" until a click `unlock()`s it. Muting is remembered per browser
// (localStorage "smsdesk.ringer.muted").
const RING_EVERY_MS = 3000;
const TONES = [[880, 0], [660, 0.18]]; // Hz, start offset in seconds
const TONE_S = 0.15;
const MUTED_KEY = "smsdesk.ringer.muted";

export class Ringer {
  constructor({storage = globalThis.localStorage} = {}) {
    this.storage = storage;
    this.muted = storage ? storage.getItem(MUTED_KEY) === "1" : false;
    this.rings = 0;       // chimes played (or due while muted: not counted)
    this.timer = null;
    this.context = null;
  }

  get ringing() { return this.timer !== null; }

  // Audio exists but the browser holds it until a user gesture (autoplay policy).
  get blocked() { return !this.muted && this.context !== null && this.context.state === "suspended"; }

  // Create the audio context now (on sign-in) so that `blocked` is known before the first offer.
  prime() {
    const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Context || this.context) return;
    try { this.context = new Context(); } catch { this.context = null; }
  }

  // Call from a click handler: the gesture lets the browser start audio.
  async unlock() {
    this.prime();
    if (this.context && this.context.state === "suspended") {
      try { await this.context.resume(); } catch { /* still blocked: the button stays */ }
    }
  }

  // Call with whether any session is offered now; rings at once when an offer starts.
  update(offered) {
    if (offered && this.timer === null) {
      this.timer = setInterval(() => this.chime(), RING_EVERY_MS);
      this.chime();
    } else if (!offered && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  setMuted(muted) {
    this.muted = muted;
    if (this.storage) this.storage.setItem(MUTED_KEY, muted ? "1" : "0");
  }

  chime() {
    if (this.muted) return;
    const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Context) return;
    try {
      this.context = this.context || new Context();
      if (this.context.state === "suspended") this.context.resume().catch(() => {});
      const now = this.context.currentTime;
      for (const [hz, at] of TONES) {
        const osc = this.context.createOscillator();
        const gain = this.context.createGain();
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0.0001, now + at);
        gain.gain.exponentialRampToValueAtTime(0.2, now + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + at + TONE_S);
        osc.connect(gain).connect(this.context.destination);
        osc.start(now + at);
        osc.stop(now + at + TONE_S + 0.02);
      }
      this.rings += 1;
    } catch { /* no audio device: the banner and the title still show the offer */ }
  }
}
