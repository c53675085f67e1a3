// The app's words, in Vietnamese (the default: the people who sign work in it) and English.
// Every string a person reads comes from here; the choice is kept on the tablet.

import { useSyncExternalStore } from "preact/compat";

export type Lang = "vi" | "en";

const vi = {
  appName: "Ký hồ sơ",
  signInTitle: "Đăng nhập để ký",
  signingInAs: "Máy này của",
  findingDevice: "Đang nhận diện máy…",
  notEnrolled:
    "Máy tính bảng này chưa được cấp chứng thư thiết bị cho người ký nào. Hãy nhờ cán bộ quản trị của phường cài chứng thư (signq pki device), rồi tải lại trang.",
  pin: "Mã PIN",
  signIn: "Đăng nhập",
  signingIn: "Đang đăng nhập…",
  signOut: "Đăng xuất",
  language: "Ngôn ngữ",
  director: "Giám đốc",
  deputy: "Phó giám đốc",
  clerk: "Văn thư",
  tabInbox: "Hồ sơ chờ ký",
  tabWard: "Tình hình phường",
  tabDelegations: "Ủy quyền",
  away: "Vắng mặt",
  back: "Tôi đã có mặt",
  youAreAway: "Bạn đang vắng mặt: hồ sơ mới sẽ không giao cho bạn.",
  offline: "Mất kết nối mạng. Không có gì bị mất; ứng dụng tự kết nối lại.",
  connecting: "Đang kết nối…",
  retryNow: "Thử lại ngay",
  pendingApproval: (n: number) => `Đang chờ xác nhận ký ${n} hồ sơ; sẽ gửi lại khi có mạng, không ký trùng.`,
  interruptedApproval: (n: number) => `Lần ký ${n} hồ sơ trước chưa được xác nhận. Nhập PIN để hoàn tất.`,
  finish: "Hoàn tất",
  empty: "Không có hồ sơ nào chờ bạn ký.",
  pullMore: "Nhận thêm hồ sơ",
  waitingMore: (n: number, held: number, size: number) =>
    n === 0
      ? "Không còn hồ sơ nào khác chờ bạn."
      : held >= size
        ? `Còn ${n} hồ sơ nữa chờ bạn. Mỗi lần bạn giữ tối đa ${size} hồ sơ; ký xong, hồ sơ tiếp theo tự đến.`
        : `Còn ${n} hồ sơ nữa chờ bạn.`,
  pulled: (n: number) => `Đã nhận thêm ${n} hồ sơ.`,
  pulledNone: "Không có hồ sơ nào khác đang chờ bạn.",
  pulledFull: (size: number) =>
    `Bạn đang giữ ${size} hồ sơ, mức tối đa mỗi lần. Ký hoặc trả lại bớt để nhận thêm.`,
  pulledSoon: (n: number) => `Còn ${n} hồ sơ chờ bạn; chúng sẽ đến trong giây lát.`,
  tabSigned: "Đã ký hôm nay",
  signedTodayEmpty: "Hôm nay bạn chưa ký hồ sơ nào.",
  signedAt: (at: string) => `Ký lúc ${at}`,
  verify: "Kiểm tra chữ ký",
  verifying: "Đang kiểm tra chữ ký…",
  verified: (who: string, at: string, issuer: string) =>
    `Chữ ký hợp lệ: ${who} ký lúc ${at}, bằng chứng thư do ${issuer} cấp. Văn bản không bị thay đổi sau khi ký.`,
  notVerified: (why: string) => `Chữ ký KHÔNG hợp lệ: ${why}`,
  changedDocument: "văn bản đã bị thay đổi sau khi ký.",
  untrustedCertificate: "chứng thư ký không do cơ quan cấp chứng thư của phường cấp, hoặc đã hết hạn.",
  unreadableSignature: "không đọc được chữ ký.",
  selectAll: "Chọn tất cả",
  selected: (n: number) => `Đã chọn ${n}`,
  approveSelected: (n: number) => (n === 0 ? "Chọn hồ sơ để ký" : `Ký ${n} hồ sơ`),
  approveOne: "Ký hồ sơ này",
  reject: "Trả lại",
  submitted: "Tiếp nhận",
  deadline: "Hạn",
  left: (d: string) => `còn ${d}`,
  overdue: (d: string) => `quá hạn ${d}`,
  workingLeft: (d: string) => `còn ${d} làm việc`,
  workingOverdue: (d: string) => `quá hạn ${d} làm việc`,
  workingDays: "ngày",
  urgent: "Khẩn",
  high: "Ưu tiên",
  escalated: "Chuyển lên giám đốc",
  preview: "Xem văn bản",
  closePreview: "Đóng",
  documentPages: "Các trang của văn bản",
  loadingDocument: "Đang tải văn bản…",
  notPdf: "Văn bản không phải PDF; không xem trước được.",
  page: (i: number, n: number) => `Trang ${i}/${n}`,
  pinTitle: (n: number) => `Ký ${n} hồ sơ bằng mã PIN`,
  pinHint: "Một lần nhập PIN cho cả lô.",
  confirm: "Xác nhận",
  cancel: "Hủy",
  signing: "Đang ký…",
  signedN: (n: number) => `Đã ký ${n} hồ sơ.`,
  // A remote signing key: the batch is confirmed in the person's signing app.
  confirmInApp: "Xác nhận trong ứng dụng ký số",
  confirmCodeLabel: "Mã trong ứng dụng",
  confirmRecords: (n: number) => `${n} hồ sơ chờ bạn xác nhận`,
  confirmTimeLeft: "Thời gian còn lại",
  confirmStay: "Hồ sơ vẫn ở với bạn cho đến khi bạn xác nhận; nếu hết thời gian, hồ sơ trở lại hàng đợi.",
  confirmOutcome: "Hết giờ; đang chờ kết quả từ ứng dụng ký số…",
  waitingBadge: (code: string) => `Chờ xác nhận ${code}`,
  waitingInApp: (code: string) => `Đang chờ bạn xác nhận mã ${code} trong ứng dụng ký số.`,
  confirmTimedOut: (code: string) => `Hết thời gian xác nhận mã ${code}; hồ sơ đã trở lại hàng đợi.`,
  confirmRefused: (code: string) =>
    `Mã ${code} không được xác nhận trong ứng dụng ký số; hồ sơ đã trở lại hàng đợi.`,
  dismiss: "Đã hiểu",
  rejectTitle: "Trả lại hồ sơ",
  reason: "Lý do (bộ phận một cửa sẽ thấy)",
  reasonRequired: "Hãy ghi lý do (1–500 ký tự).",
  rejected: "Đã trả lại hồ sơ.",
  wrongPin: "Mã PIN không đúng.",
  wrongPinLeft: (n: number) => `Mã PIN không đúng. Còn ${n} lần thử trước khi khóa.`,
  keyLocked: "Khóa ký đã bị khóa vì nhập sai PIN nhiều lần. Hãy thử lại sau.",
  keyLockedUntil: (until: string) =>
    `Khóa ký đã bị khóa đến ${until} vì nhập sai PIN nhiều lần. Nếu cần ký gấp, hãy gọi cán bộ công nghệ thông tin của phường.`,
  tooMany: "Quá nhiều yêu cầu; hãy đợi một lát rồi thử lại.",
  sessionEnded: "Phiên làm việc đã hết. Hãy đăng nhập lại.",
  tokenLocked:
    "Token ký số đã khóa mã PIN. Hãy mang token đến cán bộ công nghệ thông tin của phường để mở khóa.",
  keyUnavailable:
    "Không đọc được khóa ký (token chưa cắm hoặc bị rút ra). Hãy cắm lại token rồi ký lại; chưa có hồ sơ nào được ký.",
  certificateUnusable:
    "Chứng thư số của bạn không còn dùng để ký được (hết hạn hoặc bị thu hồi). Hãy báo cán bộ công nghệ thông tin của phường.",
  delegationEnded:
    "Ủy quyền ký loại hồ sơ này của bạn không còn hiệu lực. Hồ sơ sẽ về lại hàng đợi; hãy báo Giám đốc nếu cần.",
  delegationOutOfScope:
    "Hồ sơ này nằm ngoài phạm vi bạn được ủy quyền ký. Hồ sơ sẽ được chuyển cho người có thẩm quyền.",
  delegationDailyCap:
    "Hôm nay bạn đã ký đủ số hồ sơ được ủy quyền. Các hồ sơ còn lại sẽ được chuyển cho người khác.",
  serviceUnavailable:
    "Hệ thống ký số tạm thời chưa phục vụ được; chưa có hồ sơ nào được ký. Hãy thử lại sau ít phút.",
  notInThisState:
    "Hồ sơ không còn ở trạng thái này (đã được ký, trả lại hoặc chuyển cho người khác). Danh sách đã được cập nhật.",
  notFound: "Không tìm thấy hồ sơ hoặc người ký này; có thể hồ sơ đã được chuyển đi. Hãy tải lại trang.",
  notPermitted: "Bạn không có quyền làm việc này. Nếu cần, hãy báo Giám đốc.",
  alreadyDone: "Việc này đã được thực hiện trước đó.",
  invalidInput: "Thông tin nhập chưa hợp lệ. Hãy kiểm tra lại rồi gửi lại.",
  unconfirmed: "Lô ký chưa được xác nhận trong ứng dụng ký số, nên chưa có hồ sơ nào được ký. Hãy ký lại.",
  systemError: (code: string) =>
    `Hệ thống gặp lỗi; không có hồ sơ nào bị ký hai lần. Hãy báo cán bộ công nghệ thông tin của phường (mã lỗi ${code}).`,
  seconds: "giây",
  minutes: "phút",
  hours: "giờ",
  days: "ngày",
  // Director: the ward.
  pool: "Hồ sơ theo trạng thái",
  queued: "Đang chờ",
  leased: "Đang giao",
  signed: "Đã ký",
  rejectedState: "Trả lại",
  cancelled: "Đã hủy",
  signersLoad: "Tải của từng người ký",
  signedToday: "Ký hôm nay",
  holding: "Đang giữ",
  directorShare: "Tỷ lệ giám đốc ký",
  onTime: "Ký đúng hạn",
  oldestWaiting: "Hồ sơ chờ lâu nhất",
  waitPercentiles: "Thời gian chờ đến khi ký",
  waitHalf: "Một nửa số hồ sơ chờ ít hơn",
  waitNine: "9 trên 10 hồ sơ chờ ít hơn",
  waitNinetyNine: "99 trên 100 hồ sơ chờ ít hơn",
  backlogOverTime: "Hồ sơ chờ ký trong 24 giờ qua",
  wardWaiting: "Hồ sơ chờ ký",
  updatedAt: (t: string) => `Cập nhật ${t}`,
  wardStuckTitle: "Người ký bị khóa hoặc vắng mặt đang giữ hồ sơ",
  wardStuckHint:
    "Chưa ai khác ký được các hồ sơ này cho đến khi chúng về hàng chờ. Hãy liên hệ người ký, hoặc cán bộ công nghệ thông tin của phường nếu khóa ký bị khóa.",
  wardLockedUntil: (at: string) => `Khóa đến ${at}`,
  wardAway: "Vắng",
  wardDue: (at: string) => `hạn ${at}`,
  wardBackAt: (at: string) => `về hàng chờ lúc ${at}`,
  none: "—",
  // Director: delegations.
  delegations: "Các ủy quyền",
  newDelegation: "Ủy quyền mới",
  deputyLabel: "Phó giám đốc",
  procedures: "Thủ tục được ký",
  validFrom: "Hiệu lực từ",
  validUntil: "Đến hết",
  dailyCap: "Tối đa mỗi ngày",
  createWithPin: "Ký ủy quyền bằng PIN",
  created: "Đã tạo ủy quyền.",
  revoke: "Thu hồi",
  revokeTitle: "Thu hồi ủy quyền",
  revoked: "Đã thu hồi",
  active: "Đang hiệu lực",
  expired: "Hết hạn",
  pickProcedures: "Chọn ít nhất một thủ tục.",
  pickDeputy: "Chọn phó giám đốc.",
  noDelegations: "Chưa có ủy quyền nào.",
  tabReappointments: "Hẹn lại",
  reappointments: "Đề nghị hẹn lại ngày trả kết quả",
  noReappointments: "Không có đề nghị nào đang chờ.",
  originalDeadline: "Hạn đã hẹn",
  newDeadline: "Hẹn lại",
  requestedBy: "Bộ phận một cửa",
  approveApology: "Duyệt và ký phiếu xin lỗi",
  apologyPin: "Ký phiếu xin lỗi và hẹn lại ngày trả kết quả",
  refuseReappointment: "Từ chối",
  refuseTitle: "Từ chối hẹn lại",
  apologySigned: "Đã ký phiếu xin lỗi; hồ sơ được hẹn lại.",
  reappointmentRefused: "Đã từ chối đề nghị hẹn lại.",
};

export type Words = typeof vi;

const en: Words = {
  appName: "Signing",
  signInTitle: "Sign in to sign",
  signingInAs: "This tablet belongs to",
  findingDevice: "Recognising this tablet…",
  notEnrolled:
    "This tablet has no device certificate for any signer. Ask the ward's administrator to install one (signq pki device), then reload the page.",
  pin: "PIN",
  signIn: "Sign in",
  signingIn: "Signing in…",
  signOut: "Sign out",
  language: "Language",
  director: "Director",
  deputy: "Deputy",
  clerk: "Clerk",
  tabInbox: "To sign",
  tabWard: "Ward",
  tabDelegations: "Delegations",
  away: "Away",
  back: "I'm back",
  youAreAway: "You are away: new records are not given to you.",
  offline: "No network connection. Nothing is lost; the app reconnects by itself.",
  connecting: "Connecting…",
  retryNow: "Retry now",
  pendingApproval: (n) =>
    `Signing ${n} records is not yet confirmed; it is resent when the network is back, never signed twice.`,
  interruptedApproval: (n) => `Signing ${n} records was not confirmed. Enter your PIN to finish.`,
  finish: "Finish",
  empty: "Nothing is waiting for your signature.",
  pullMore: "Get more records",
  waitingMore: (n, held, size) =>
    n === 0
      ? "Nothing else is waiting for you."
      : held >= size
        ? `${n} more records are waiting for you. You hold at most ${size} at a time; sign these and the next come by themselves.`
        : `${n} more records are waiting for you.`,
  pulled: (n) => `Got ${n} more records.`,
  pulledNone: "Nothing else is waiting for you.",
  pulledFull: (size) => `You hold ${size} records, the most at a time. Sign or return some to get more.`,
  pulledSoon: (n) => `${n} records are waiting for you; they will arrive in a moment.`,
  tabSigned: "Signed today",
  signedTodayEmpty: "You have not signed anything today.",
  signedAt: (at) => `Signed at ${at}`,
  verify: "Check the signature",
  verifying: "Checking the signature…",
  verified: (who, at, issuer) =>
    `The signature is valid: signed by ${who} at ${at}, with a certificate issued by ${issuer}. The document has not changed since.`,
  notVerified: (why) => `The signature is NOT valid: ${why}`,
  changedDocument: "the document was changed after it was signed.",
  untrustedCertificate:
    "the signing certificate was not issued by the ward's certificate authority, or has expired.",
  unreadableSignature: "the signature cannot be read.",
  selectAll: "Select all",
  selected: (n) => `${n} selected`,
  approveSelected: (n) =>
    n === 0 ? "Select records to sign" : n === 1 ? "Sign 1 record" : `Sign ${n} records`,
  approveOne: "Sign this record",
  reject: "Return",
  submitted: "Received",
  deadline: "Deadline",
  left: (d) => `${d} left`,
  overdue: (d) => `overdue by ${d}`,
  workingLeft: (d) => `${d} of working time left`,
  workingOverdue: (d) => `overdue by ${d} of working time`,
  workingDays: "working d",
  urgent: "Urgent",
  high: "High",
  escalated: "Escalated to the director",
  preview: "View document",
  closePreview: "Close",
  documentPages: "The document's pages",
  loadingDocument: "Loading the document…",
  notPdf: "The document is not a PDF; no preview.",
  page: (i, n) => `Page ${i}/${n}`,
  pinTitle: (n) => `Sign ${n} records with your PIN`,
  pinHint: "One PIN for the whole batch.",
  confirm: "Confirm",
  cancel: "Cancel",
  signing: "Signing…",
  signedN: (n) => `Signed ${n} records.`,
  confirmInApp: "Confirm in your signing app",
  confirmCodeLabel: "Code in the app",
  confirmRecords: (n) => `${n} ${n === 1 ? "record" : "records"} waiting for your confirmation`,
  confirmTimeLeft: "Time left",
  confirmStay: "The records stay with you until you confirm; if the time runs out, they return to the queue.",
  confirmOutcome: "Time is up; waiting for the signing app's answer…",
  waitingBadge: (code) => `Awaiting confirmation ${code}`,
  waitingInApp: (code) => `Waiting for you to confirm code ${code} in your signing app.`,
  confirmTimedOut: (code) => `Time ran out to confirm code ${code}; the records are back in the queue.`,
  confirmRefused: (code) =>
    `Code ${code} was not confirmed in the signing app; the records are back in the queue.`,
  dismiss: "OK",
  rejectTitle: "Return the record",
  reason: "Reason (the one-stop desk sees it)",
  reasonRequired: "Give a reason (1–500 characters).",
  rejected: "The record was returned.",
  wrongPin: "Wrong PIN.",
  wrongPinLeft: (n) => `Wrong PIN. ${n} attempt(s) left before the key locks.`,
  keyLocked: "Your signing key is locked after too many wrong PINs. Try again later.",
  keyLockedUntil: (until) =>
    `Your signing key is locked until ${until} after too many wrong PINs. If a signature cannot wait, call the ward's IT officer.`,
  tooMany: "Too many requests; wait a moment and try again.",
  sessionEnded: "Your session ended. Please sign in again.",
  tokenLocked: "Your signing token has locked its PIN. Take the token to the ward's IT officer to unlock it.",
  keyUnavailable:
    "Your signing key cannot be read (the token is not plugged in, or was pulled out). Plug it in and sign again; nothing was signed.",
  certificateUnusable:
    "Your signing certificate can no longer sign (expired or revoked). Tell the ward's IT officer.",
  delegationEnded:
    "Your delegation to sign this kind of record is no longer valid. The record goes back to the queue; tell the director if needed.",
  delegationOutOfScope:
    "This record is outside what you are delegated to sign. It will go to someone who may sign it.",
  delegationDailyCap:
    "You have signed as many records today as your delegation allows. The rest will go to others.",
  serviceUnavailable:
    "The signing system cannot serve for the moment; nothing was signed. Try again in a few minutes.",
  notInThisState:
    "The record is no longer in that state (signed, returned or given to someone else). The list is up to date.",
  notFound: "That record or signer was not found; it may have moved. Reload the page.",
  notPermitted: "You may not do this. If it is needed, tell the director.",
  alreadyDone: "This was done already.",
  invalidInput: "Something entered is not valid. Check it and send again.",
  unconfirmed: "The batch was not confirmed in the signing app, so nothing was signed. Sign again.",
  systemError: (code) =>
    `The system failed; no record was signed twice. Tell the ward's IT officer (error code ${code}).`,
  seconds: "sec",
  minutes: "min",
  hours: "h",
  days: "d",
  pool: "Records by state",
  queued: "Waiting",
  leased: "Given out",
  signed: "Signed",
  rejectedState: "Returned",
  cancelled: "Cancelled",
  signersLoad: "Each signer's load",
  signedToday: "Signed today",
  holding: "Holding",
  directorShare: "Director's share",
  onTime: "Signed on time",
  oldestWaiting: "Oldest waiting record",
  waitPercentiles: "Wait until signed",
  waitHalf: "Half of the records waited less than",
  waitNine: "9 in 10 records waited less than",
  waitNinetyNine: "99 in 100 records waited less than",
  backlogOverTime: "Records waiting to be signed, last 24 hours",
  wardWaiting: "Records waiting to be signed",
  updatedAt: (t) => `Updated ${t}`,
  wardStuckTitle: "Locked or away signers holding records",
  wardStuckHint:
    "No one else can sign these records until they go back to the queue. Contact the signer, or the ward's IT officer if their signing key is locked.",
  wardLockedUntil: (at) => `Locked until ${at}`,
  wardAway: "Away",
  wardDue: (at) => `due ${at}`,
  wardBackAt: (at) => `back in the queue at ${at}`,
  none: "—",
  delegations: "Delegations",
  newDelegation: "New delegation",
  deputyLabel: "Deputy",
  procedures: "Procedures covered",
  validFrom: "Valid from",
  validUntil: "Valid until",
  dailyCap: "At most per day",
  createWithPin: "Sign the delegation with your PIN",
  created: "The delegation was created.",
  revoke: "Revoke",
  revokeTitle: "Revoke the delegation",
  revoked: "Revoked",
  active: "Active",
  expired: "Expired",
  pickProcedures: "Pick at least one procedure.",
  pickDeputy: "Pick a deputy.",
  noDelegations: "No delegations yet.",
  tabReappointments: "New dates",
  reappointments: "Requests for a new appointment date",
  noReappointments: "No request is waiting.",
  originalDeadline: "Deadline",
  newDeadline: "New date",
  requestedBy: "One-stop desk",
  approveApology: "Approve and sign the apology",
  apologyPin: "Sign the apology and new appointment",
  refuseReappointment: "Refuse",
  refuseTitle: "Refuse the new date",
  apologySigned: "The apology is signed; the record has its new date.",
  reappointmentRefused: "The request was refused.",
};

const KEY = "signq.lang";
// A clerk's tablet: the same inbox, where what the PIN approves is the ward's seal over what a
// director or deputy signed.
const sealVi: Partial<Words> = {
  tabInbox: "Hồ sơ chờ đóng dấu",
  empty: "Không có hồ sơ nào chờ đóng dấu.",
  approveSelected: (n: number) => (n === 0 ? "Chọn hồ sơ để đóng dấu" : `Đóng dấu ${n} hồ sơ`),
  approveOne: "Đóng dấu hồ sơ này",
  pinTitle: (n: number) => `Đóng dấu ${n} hồ sơ bằng mã PIN`,
  signing: "Đang đóng dấu…",
  signedN: (n: number) => `Đã đóng dấu ${n} hồ sơ.`,
  tabSigned: "Đã đóng dấu hôm nay",
  signedTodayEmpty: "Hôm nay bạn chưa đóng dấu hồ sơ nào.",
  signedAt: (at: string) => `Đóng dấu lúc ${at}`,
};
const sealEn: Partial<Words> = {
  tabInbox: "To seal",
  empty: "Nothing is waiting for the seal.",
  approveSelected: (n: number) =>
    n === 0 ? "Select records to seal" : n === 1 ? "Seal 1 record" : `Seal ${n} records`,
  approveOne: "Seal this record",
  pinTitle: (n: number) => `Seal ${n} records with your PIN`,
  signing: "Sealing…",
  signedN: (n: number) => `Sealed ${n} records.`,
  tabSigned: "Sealed today",
  signedTodayEmpty: "You have not sealed anything today.",
  signedAt: (at: string) => `Sealed at ${at}`,
};

const dictionaries: Record<Lang, Words> = { vi, en };
const sealing: Record<Lang, Words> = { vi: { ...vi, ...sealVi }, en: { ...en, ...sealEn } };
const listeners = new Set<() => void>();
let current: Lang = localStorage.getItem(KEY) === "en" ? "en" : "vi";
let clerk = false;

/** Whether the person signed in is a clerk, whose words speak of the seal (set by the session). */
export function setSealing(isClerk: boolean): void {
  if (clerk === isClerk) return;
  clerk = isClerk;
  listeners.forEach((l) => l());
}
document.documentElement.lang = current;

/** Switches the language for the whole app and remembers it on this tablet. */
export function setLang(lang: Lang): void {
  current = lang;
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang;
  listeners.forEach((l) => l());
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The current language and its words; re-renders the caller when the language changes. */
export function useWords(): { lang: Lang; t: Words } {
  const lang = useSyncExternalStore(subscribe, () => current);
  const seals = useSyncExternalStore(subscribe, () => clerk);
  return { lang, t: (seals ? sealing : dictionaries)[lang] };
}

/** The locale used for dates and numbers. */
export function locale(lang: Lang): string {
  return lang === "vi" ? "vi-VN" : "en-GB";
}
