// A deputy's tablet when the scheduler replica it reached dies. The ward runs on PostgreSQL (the
// test cluster SIGNQ_TEST_POSTGRES names): signq dev's scheduler and a second replica share the
// store, and the tablet reaches the second through a cable standing for the load balancer's one
// address. The second replica is killed with SIGKILL; the cable sends new connections to the
// first, as a load balancer would; the tablet is still signed in and signs the next record.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { test } from "node:test";
import {
  accessibilityViolations,
  Cable,
  DEPUTY_1,
  PORTRAIT,
  SIGNQ,
  Ward,
  screenshot,
  signIn,
} from "./harness.mjs";

const row = (page, id) => page.locator(`[data-testid="record"][data-record-id="${id}"]`);

/** A new, empty database in the test cluster; its URL. */
function freshDatabase() {
  const admin = process.env.SIGNQ_TEST_POSTGRES;
  assert.ok(admin, "SIGNQ_TEST_POSTGRES names the test cluster: run scripts/test");
  const name = `tablet_${Math.random().toString(16).slice(2, 10)}`;
  execFileSync("psql", [admin, "-q", "-c", `CREATE DATABASE ${name}`]);
  return `${admin.slice(0, admin.lastIndexOf("/"))}/${name}`;
}

/** A second scheduler replica on the ward's store, beside signq dev's; resolves once it listens. */
async function replica(ward, store, signerAddr) {
  const child = spawn(
    SIGNQ,
    [
      "--data-dir",
      ward.data,
      "scheduler",
      "--store",
      store,
      "--signer-addr",
      signerAddr,
      "--scheduler-listen",
      "127.0.0.1:0",
      "--metrics-listen",
      "127.0.0.1:0",
      "--ownership-ttl-secs",
      "1.5",
      "--replica-id",
      "second",
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, RUST_LOG: "warn" } },
  );
  const lines = createInterface({ input: child.stdout });
  const addr = await new Promise((resolveAddr, reject) => {
    child.once("exit", (code) => reject(new Error(`the second replica exited early (${code})`)));
    lines.on("line", (line) => {
      const m = line.match(/^scheduler listening on (.+)$/);
      if (m) resolveAddr(m[1]);
    });
  });
  lines.on("line", () => {});
  return { child, addr };
}

test(
  "the tablet stays signed in when the scheduler replica it reached dies, and signs on through another",
  { timeout: 180_000 },
  async () => {
    const store = freshDatabase();
    const ward = await Ward.start(["--store", store, "--ownership-ttl-secs", "1.5"]);
    const signerAddr = `localhost:${ward.signer.split(":").pop()}`;
    const second = await replica(ward, store, signerAddr);
    const cable = await Cable.plug(second.addr);
    try {
      const { page } = await ward.tablet(PORTRAIT);
      await signIn(page, ward, DEPUTY_1, cable.url);
      const first = await ward.submit("CT-BS", "Bản sao giấy khai sinh - Nguyễn Văn An", "replica-1");
      await row(page, first).waitFor({ timeout: 30_000 });

      // The replica the tablet reached dies; the one address now leads to the other replica.
      second.child.kill("SIGKILL");
      await once(second.child, "exit");
      cable.cut();
      cable.restore(ward.scheduler);

      const next = await ward.submit("CT-BS", "Bản sao giấy khai sinh - Trần Thị Mai", "replica-2");
      await row(page, next).waitFor({ timeout: 60_000 });
      assert.equal(
        await page.getByRole("heading", { name: "Đăng nhập để ký" }).count(),
        0,
        "still signed in",
      );
      await page.getByTestId("select-all").check();
      await page.getByTestId("approve-selected").click();
      await page.getByTestId("pin-dialog").locator('input[name="pin"]').fill(DEPUTY_1.pin);
      await page.getByTestId("pin-dialog").getByRole("button", { name: "Xác nhận" }).click();
      await page.getByTestId("toast-ok").getByText("Đã ký 2 hồ sơ.").waitFor({ timeout: 60_000 });
      await screenshot(page, "signed-on-after-a-replica-died-portrait");
      assert.deepEqual(await accessibilityViolations(page), [], "signed-on-after-a-replica-died-portrait");
      for (const id of [first, next]) assert.equal((await ward.verify(id)).signer, DEPUTY_1.id);
      assert.match(await ward.signq("audit", "verify", "--store", store), /audit chain OK/);
    } finally {
      cable.close();
      if (second.child.exitCode === null && second.child.signalCode === null) second.child.kill("SIGKILL");
      await ward.stop();
    }
  },
);
