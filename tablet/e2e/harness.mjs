// What the end-to-end tests stand on: a real `signq dev` on ephemeral loopback ports (the binary
// `cargo test` built, or $SIGNQ_BIN), records submitted through Intake with the real `signq submit`,
// signatures judged by `openssl cms -verify`, and Debian's Chromium driven by playwright-core. For
// keys at a remote signing provider, the strict CSC test provider runs as a process of its own
// (`signq-csc-testserver`, built beside signq), and the test plays the person's signing app.

import { execFile, execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { once } from "node:events";
import { request as httpsRequest } from "node:https";
import { createServer, connect } from "node:net";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const run = promisify(execFile);
/** axe-core, the accessibility rules engine, injected into pages to judge them. */
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");

export const SIGNQ = process.env.SIGNQ_BIN ?? join(root, "target/debug/signq");
/** The CSC test provider's binary, built with signq (the `signq-csc-testserver` crate's binary). */
export const CSC_TESTSERVER = process.env.CSC_TESTSERVER_BIN ?? join(dirname(SIGNQ), "signq-csc-testserver");
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
/**
 * The managed policy that has Chromium present a tablet's device certificate to the ward's
 * scheduler by itself, as a ward's device management sets it on its tablets; the test command
 * installs it. Without it, headless Chromium would wait for a person to pick the certificate.
 */
export const DEVICE_POLICY = "/etc/chromium/policies/managed/signq-tablet-e2e.json";
/** Where the screenshots go (listed in the closing note of the tablet issue). */
export const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? join(root, "target/tablet-screenshots");

/**
 * libfaketime for multi-threaded programs, as Debian's `faketime` package installs it (the test
 * command does): what starts signq's wall clock at a given time (see `Ward.killAndRestart`).
 */
function libfaketime() {
  const found = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"]
    .map((dir) => join(dir, "faketime/libfaketimeMT.so.1"))
    .find((path) => existsSync(path));
  if (!found) throw new Error("libfaketime is not installed (the test command installs Debian's faketime)");
  return found;
}

export const DEPUTY_1 = { id: "cat-lai/deputy-1", pin: "135790", name: "Lê Văn Phúc" };
export const DIRECTOR = { id: "cat-lai/director", pin: "246810", name: "Trần Thị Hồng Nhung" };
/** A director whose key is at a remote signing provider (registered by `Ward.enrolRemoteSigner`). */
export const REMOTE_DIRECTOR = { id: "cat-lai/director-3", pin: "135246", name: "Lê Thị Hoa" };

/** A demo ward (`signq dev`) in a fresh directory, on ephemeral loopback ports. */
export class Ward {
  /** Starts `signq dev` with `extra` options, its wall clock starting at `at` (a Date) if given. */
  static async start(extra = [], { at = null } = {}) {
    const ward = new Ward(mkdtempSync(join(tmpdir(), "signq-e2e-")), extra);
    ward.clock = at;
    await ward.spawn();
    return ward;
  }

  constructor(dir, extra) {
    this.dir = dir;
    this.extra = extra;
    /** Where signq's wall clock starts (libfaketime; the monotonic clock stays real), or null. */
    this.clock = null;
    this.child = null;
    this.signer = "";
    this.scheduler = "";
    this.metrics = "";
    this.browsers = new Map();
  }

  async spawn() {
    const child = spawn(
      SIGNQ,
      [
        "--data-dir",
        join(this.dir, "data"),
        "dev",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--scheduler-listen",
        "127.0.0.1:0",
        // Persons' signatures alone unless a test asks for the ward's seal.
        ...(this.extra.includes("--seal") ? [] : ["--seal", "off"]),
        ...this.extra,
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn", ...this.fakeClock() },
      },
    );
    this.child = child;
    const lines = createInterface({ input: child.stdout });
    await new Promise((resolveReady, reject) => {
      child.once("exit", (code) => reject(new Error(`signq dev exited early (${code})`)));
      lines.on("line", (line) => {
        const scheduler = line.match(/^scheduler listening on (.+)$/);
        if (scheduler) this.scheduler = scheduler[1];
        const signer = line.match(/^signer listening on (.+)$/);
        if (signer) this.signer = signer[1];
        const metrics = line.match(/^metrics on (.+)$/);
        if (metrics) this.metrics = metrics[1];
        if (line === "ready") resolveReady();
      });
    });
  }

  /**
   * Kills signq with SIGKILL and starts it again on the same data (on new ports); with `{ at }`,
   * its wall clock starts at that Date (null: the real clock again), else it stays as it was.
   */
  async killAndRestart({ at } = {}) {
    this.child.kill("SIGKILL");
    if (this.child.exitCode === null && this.child.signalCode === null) await once(this.child, "exit");
    if (at !== undefined) this.clock = at;
    await this.spawn();
  }

  /** The environment that starts signq's wall clock at `this.clock`, as libfaketime reads it. */
  fakeClock() {
    if (!this.clock) return {};
    const at = this.clock.toISOString().slice(0, 19).replace("T", " ");
    return {
      LD_PRELOAD: libfaketime(),
      FAKETIME: `@${at}`,
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
      TZ: "UTC",
    };
  }

  /**
   * A tablet-sized page in Debian's Chromium, headless, on the tablet enrolled for `who`: it
   * trusts the ward CA and holds that signer's device certificate the way a tablet set up for the
   * ward does (in its NSS certificate store), so TLS and the device are checked for real.
   */
  async tablet(viewport = PORTRAIT, who = DEPUTY_1) {
    const key = who?.id ?? "no device";
    if (!this.browsers.has(key)) this.browsers.set(key, await launchTablet(this, who));
    const context = await this.browsers.get(key).newContext({
      viewport,
      deviceScaleFactor: 1,
      hasTouch: true,
      locale: "vi-VN",
      timezoneId: "Asia/Ho_Chi_Minh",
    });
    const page = await context.newPage();
    return { context, page };
  }

  /** The app's address: the scheduler's own TLS port, under the certificate's name. */
  get url() {
    return `https://localhost:${this.scheduler.split(":").pop()}/`;
  }

  get data() {
    return join(this.dir, "data");
  }

  /** Runs `signq` on this ward's data; a first argument `{ env }` adds to its environment. */
  async signq(...args) {
    const options = typeof args[0] === "object" ? args.shift() : {};
    const port = this.scheduler.split(":").pop();
    const { stdout } = await run(
      SIGNQ,
      [
        "--data-dir",
        this.data,
        ...args.flatMap((a) => (a === "@addr" ? ["--addr", `localhost:${port}`] : [a])),
      ],
      { env: { ...process.env, ...options.env } },
    );
    return stdout;
  }

  /**
   * One call to the scheduler's Admin service as the ward's operator, over gRPC-web with the
   * operator's client certificate, as `signq dev` configures the ward: `message` is the request's
   * protobuf bytes; resolves with the answer's. The operator's key file opens with the password
   * signq derives from the operator's key-encryption key (HMAC-SHA256 under "signq-tls-key").
   */
  async admin(method, message) {
    const kekFile = readFileSync(join(this.dir, "signq-secrets/operator.kek"));
    const kek = kekFile.length === 32 ? kekFile : Buffer.from(kekFile.toString("utf8").trim(), "hex");
    const passphrase = createHmac("sha256", kek)
      .update("signq-tls-key")
      .update(Buffer.from([0]))
      .update("operator")
      .digest("hex");
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(message.length, 1);
    const body = Buffer.concat([frame, message]);
    const answer = await new Promise((resolveAnswer, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          servername: "localhost",
          port: Number(this.scheduler.split(":").pop()),
          method: "POST",
          path: `/signq.v1.Admin/${method}`,
          ca: readFileSync(join(this.data, "pki/ca.crt.pem")),
          cert: readFileSync(join(this.data, "pki/issued/operator.crt.pem")),
          key: readFileSync(join(this.data, "pki/issued/operator.key.pem")),
          passphrase,
          headers: {
            "content-type": "application/grpc-web+proto",
            "x-grpc-web": "1",
            "content-length": body.length,
          },
        },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolveAnswer({ headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    // Length-prefixed frames: messages (flag 0), then the trailers (flag 0x80), unless the status
    // came in the headers alone.
    let reply = Buffer.alloc(0);
    let trailers = "";
    for (let at = 0; at + 5 <= answer.body.length;) {
      const length = answer.body.readUInt32BE(at + 1);
      const payload = answer.body.subarray(at + 5, at + 5 + length);
      if (answer.body[at] & 0x80) trailers += payload.toString("utf8");
      else reply = payload;
      at += 5 + length;
    }
    const field = (name) =>
      answer.headers[name] ?? trailers.match(new RegExp(`^${name}:\\s*(.*?)\\s*$`, "mi"))?.[1];
    const status = field("grpc-status");
    if (status !== "0") {
      throw new Error(
        `Admin.${method}: grpc-status ${status}: ${decodeURIComponent(field("grpc-message") ?? "")}`,
      );
    }
    return reply;
  }

  /**
   * Registers `who` as a director whose key is at `provider` (`signq pki signer --remote` with
   * their PIN: the ward CA certifies the provider's key), enrols a tablet for them
   * (`signq pki device`), and enrols the signer in the scheduler (Admin.EnrollSigner).
   */
  async enrolRemoteSigner(who, provider) {
    await this.signq(
      { env: { SIGNQ_PIN: who.pin } },
      "pki",
      "signer",
      "--id",
      who.id,
      "--name",
      who.name,
      "--role",
      "director",
      "--ward-id",
      "cat-lai",
      "--ward-name",
      "Phường Cát Lái",
      "--remote",
      provider.remote,
      "--credential",
      provider.credential,
    );
    await this.signq("pki", "device", "--signer", who.id);
    const pem = readFileSync(
      join(this.data, "signer/keys", `${who.id.replaceAll("/", "_")}.crt.pem`),
      "utf8",
    );
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    // EnrollSignerRequest { bytes certificate = 1; }
    await this.admin("EnrollSigner", Buffer.concat([Buffer.from([0x0a]), varint(der.length), der]));
  }

  /** Asks for a new appointment date (`signq reappoint`, as the one-stop desk does). */
  async reappoint(id, reason, newDeadline) {
    await this.signq(
      "reappoint",
      "@addr",
      "--reason",
      reason,
      "--new-deadline",
      newDeadline.toISOString(),
      id,
    );
  }

  /** Submits a one-page PDF through Intake (`signq submit`); returns the record id. */
  async submit(procedure, title, key) {
    const file = join(this.dir, `${key}.pdf`);
    writeFileSync(file, pdf(title));
    const out = await this.signq(
      "submit",
      "@addr",
      "--procedure",
      procedure,
      "--title",
      title,
      "--key",
      key,
      file,
    );
    return out.trim().split(/\s+/)[0];
  }

  /** The record as Intake shows it: `{id, state, signer}`, and its files when `withFiles`. */
  async get(id, withFiles = false) {
    const outDir = join(this.dir, "out");
    const args = ["get", "@addr", id];
    if (withFiles) args.push("--out-dir", outDir);
    const out = await this.signq(...args);
    const first = out.split("\n")[0];
    const state = first.match(/ RECORD_STATE_(\w+) /)?.[1];
    const signer = first.match(/signer=(\S*)/)?.[1];
    const clerk = first.match(/clerk=(\S*)/)?.[1] || null;
    const stage = first.match(/ RECORD_STAGE_(\w+) /)?.[1];
    const deadline = Date.parse(first.match(/ deadline=(\S+)/)?.[1] ?? "");
    return {
      id,
      state,
      stage,
      signer,
      clerk,
      deadline,
      document: join(outDir, `${id}.doc`),
      signature: join(outDir, `${id}.doc.p7s`),
      pdf: join(outDir, `${id}.pdf`),
    };
  }

  /**
   * `openssl cms -verify` of a signed record against the ward's CA: over the document, or for a
   * PDF over the byte ranges of the signature in the signed PDF that is the record's (the last,
   * or the one before the ward's seal), every signature of which poppler's `pdfsig` reports
   * valid. Adds `signatures`, how many the PDF carries.
   */
  async verify(id) {
    const r = await this.get(id, true);
    const cms = (content) =>
      run("openssl", [
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        r.signature,
        "-content",
        content,
        "-CAfile",
        join(this.data, "pki/ca.crt.pem"),
        "-out",
        "/dev/null",
      ]);
    if (!existsSync(r.pdf)) {
      await cms(r.document);
      return r;
    }
    const pdf = readFileSync(r.pdf);
    const ranges = [
      ...pdf.toString("latin1").matchAll(/\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g),
    ].map((m) => m.slice(1).map(Number));
    // pdfsig's exit status also reflects the certificate's trust in its own store: read what it
    // reports of each signature.
    const report = await run("pdfsig", [r.pdf]).then(
      (out) => out.stdout,
      (failed) => `${failed.stdout ?? ""}${failed.stderr ?? ""}`,
    );
    if (report.split("Signature Validation: Signature is Valid.").length - 1 !== ranges.length) {
      throw new Error(`pdfsig does not find every signature of ${r.pdf} valid:\n${report}`);
    }
    // Once sealed, the ward's seal comes after the record's own signature.
    const sealed = r.state === "SIGNED" && r.stage === "SEAL";
    const [a, b, c, d] = ranges.at(sealed ? -2 : -1);
    const content = `${r.pdf}.signed-ranges`;
    writeFileSync(content, Buffer.concat([pdf.subarray(a, a + b), pdf.subarray(c, c + d)]));
    await cms(content);
    return { ...r, signatures: ranges.length };
  }

  /** One series of a counter on the metrics page, summed over its labels. */
  async counter(name) {
    const text = await (await fetch(this.metrics)).text();
    return text
      .split("\n")
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
  }

  /** A device's PKCS#12 file and its password, as `signq dev` enrols one per demo signer. */
  device(who) {
    const stem = `${who.id.replaceAll("/", "_")}_tablet`;
    const p12 = join(this.dir, "signq-secrets/devices", `${stem}.p12`);
    return { p12, password: readFileSync(`${p12}.password`, "utf8").trim() };
  }

  async stop() {
    for (const browser of this.browsers.values()) await browser.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      await once(this.child, "exit");
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A network cable between the tablet and the scheduler: a TCP relay on loopback that can hold the
 * scheduler's answers, be cut (every connection reset, new ones refused) and be plugged back in.
 */
export class Cable {
  static async plug(target) {
    const cable = new Cable(Number(target.split(":").pop()));
    cable.server.listen(0, "127.0.0.1");
    await once(cable.server, "listening");
    return cable;
  }

  constructor(targetPort) {
    this.targetPort = targetPort;
    this.down = false;
    this.holding = false;
    this.held = [];
    this.sockets = new Set();
    this.server = createServer((client) => {
      if (this.down) return client.resetAndDestroy();
      const upstream = connect(this.targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.on("data", (chunk) => upstream.write(chunk));
      upstream.on("data", (chunk) => (this.holding ? this.held.push([client, chunk]) : client.write(chunk)));
    });
  }

  /** The app's address through the cable. */
  get url() {
    return `https://localhost:${this.server.address().port}/`;
  }

  /** Keeps the scheduler's answers from reaching the tablet (requests still go through). */
  hold() {
    this.holding = true;
  }

  /** Cuts the cable: held answers are dropped, every connection reset, new ones refused. */
  cut() {
    this.down = true;
    this.holding = false;
    this.held = [];
    for (const s of this.sockets) s.resetAndDestroy();
  }

  /** Plugs the cable back in, to `target` if the scheduler moved (a restart). */
  restore(target) {
    if (target) this.targetPort = Number(target.split(":").pop());
    this.down = false;
  }

  close() {
    this.cut();
    this.server.close();
  }
}

/** A protobuf varint. */
function varint(n) {
  const bytes = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/**
 * The strict CSC test provider (`signq-csc-testserver`) as a process: one credential, its
 * provider file written for the signing service (`--remote-provider csc=FILE`), and its control
 * API, through which the test sees what the person's signing app shows and confirms, refuses or
 * lets expire. It exits when its stdin closes, so it never outlives the test.
 */
export class SigningProvider {
  /** Starts a provider whose confirmations the signing service waits `timeoutSecs` for. */
  static async start({ timeoutSecs = 300, credential = "cred-director-3" } = {}) {
    const dir = mkdtempSync(join(tmpdir(), "signq-e2e-csc-"));
    const file = join(dir, "provider.toml");
    const child = spawn(
      CSC_TESTSERVER,
      [
        "--provider-file",
        file,
        "--confirmation-timeout-secs",
        String(timeoutSecs),
        "--credential",
        credential,
        "--user",
        "director-3@cat-lai",
        "--name",
        REMOTE_DIRECTOR.name,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const provider = new SigningProvider(dir, file, credential, child);
    const lines = createInterface({ input: child.stdout });
    await new Promise((resolveReady, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`${CSC_TESTSERVER} exited early (${code})`)));
      lines.on("line", (line) => {
        const control = line.match(/^control listening on (.+)$/);
        if (control) provider.control = control[1];
        if (line === "ready") resolveReady();
      });
    });
    return provider;
  }

  constructor(dir, file, credential, child) {
    this.dir = dir;
    this.file = file;
    this.credential = credential;
    this.child = child;
    this.control = "";
  }

  /** The provider as `signq dev --remote-provider` and `signq pki signer --remote` name it. */
  get remote() {
    return `csc=${this.file}`;
  }

  /** The authorisations waiting for the person: `{handle, credential_id, num_signatures, description}`. */
  async pending() {
    const res = await fetch(`${this.control}/pending`);
    if (!res.ok) throw new Error(`pending: ${res.status} ${await res.text()}`);
    return res.json();
  }

  /** The first authorisation waiting whose handle is not in `seen`, once there is one (one minute at most). */
  async waitForPending(seen = []) {
    const until = Date.now() + 60_000;
    for (;;) {
      const waiting = (await this.pending()).find((p) => !seen.includes(p.handle));
      if (waiting) return waiting;
      if (Date.now() > until) throw new Error("no authorisation was asked of the signing app");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The person confirms (or "refuse", "expire") the authorisation `handle` in the app. */
  async decide(handle, decision = "confirm") {
    const res = await fetch(`${this.control}/pending/${encodeURIComponent(handle)}/${decision}`, {
      method: "POST",
    });
    if (res.status !== 204) throw new Error(`${decision} ${handle}: ${res.status} ${await res.text()}`);
  }

  /** What the provider saw: `{signed, calls, violations}`. */
  async report() {
    return (await fetch(`${this.control}/report`)).json();
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, "exit");
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill("SIGTERM"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Waits until `condition()` resolves true, asking every 50 ms; throws naming `what` after `ms`.
 * Never an open-ended loop: a test that timed out must not keep its file's process alive.
 */
export async function waitUntil(condition, what, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const PORTRAIT = { width: 820, height: 1180 };
export const LANDSCAPE = { width: 1180, height: 820 };

/** Debian's Chromium, headless, as the tablet of `who`, with nothing that reaches beyond this machine. */
async function launchTablet(ward, who) {
  if (!existsSync(DEVICE_POLICY)) {
    throw new Error(`${DEVICE_POLICY} is missing: the test command installs it (scripts/test)`);
  }
  // Chromium on Linux reads trusted roots and client certificates from $HOME/.pki/nssdb.
  const home = join(ward.dir, `chromium-${(who?.id ?? "none").replaceAll("/", "_")}`);
  const db = `sql:${join(home, ".pki/nssdb")}`;
  mkdirSync(join(home, ".pki/nssdb"), { recursive: true });
  execFileSync("certutil", ["-d", db, "-N", "--empty-password"]);
  execFileSync("certutil", [
    "-d",
    db,
    "-A",
    "-n",
    "signq ward CA",
    "-t",
    "C,,",
    "-i",
    join(ward.data, "pki/ca.crt.pem"),
  ]);
  if (who) {
    const device = ward.device(who);
    execFileSync("pk12util", ["-d", db, "-i", device.p12, "-W", device.password], { stdio: "ignore" });
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: home },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Signs in on the app's first screen, which names the tablet's signer. */
export async function signIn(page, ward, who, url = ward.url) {
  await page.goto(url);
  await page.getByTestId("device").getByText(who.name).waitFor();
  await page.locator('input[name="pin"]').fill(who.pin);
  await page.locator('form[data-testid="sign-in"] button[type="submit"]').click();
  await page.getByTestId("who").getByText(who.name).waitFor();
}

/**
 * The serious and critical accessibility violations axe-core finds on the page as it is now (WCAG
 * 2.1 A and AA and axe's best practices), as "rule: element, element".
 */
export async function accessibilityViolations(page) {
  // Evaluated through the debugging protocol, so the app's Content-Security-Policy (no inline
  // scripts) does not stand in the way.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
      resultTypes: ["violations"],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(" ")),
    }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.join(", ")}`);
}

/** Saves a screenshot under SCREENSHOTS and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Every visible control narrower or shorter than 44 CSS px, as "tag text: w×h". */
export async function smallTargets(page) {
  return page.evaluate(() => {
    const small = [];
    for (const el of document.querySelectorAll(
      "button, select, textarea, input:not([type=checkbox]), label.check",
    )) {
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (r.width === 0 || r.height === 0 || style.visibility === "hidden") continue;
      if (r.width < 44 || r.height < 44) {
        small.push(
          `${el.tagName.toLowerCase()} ${(el.textContent ?? "").trim().slice(0, 30)}: ${Math.round(r.width)}×${Math.round(r.height)}`,
        );
      }
    }
    return small;
  });
}

/**
 * A one-page PDF whose page shows `title` (ASCII only: the built-in Helvetica has no Vietnamese).
 * Hand-assembled so the tests need no PDF library; the cross-reference offsets are computed.
 */
export function pdf(title) {
  const text = title
    .normalize("NFD")
    .replace(/[^\x20-\x7e]/g, "")
    .replace(/[()\\]/g, "");
  const stream = `BT /F1 24 Tf 72 720 Td (${text}) Tj ET\nBT /F1 14 Tf 72 690 Td (signq end-to-end test document) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let body = "%PDF-1.4\n";
  const offsets = [];
  objects.forEach((o, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  body += offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("");
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, "latin1");
}
