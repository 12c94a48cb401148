//! What a runner process may do: the user it runs as, the network it reaches, the system calls
//! it may make. User code is another tenant's code, so none of it may reach the worker's
//! secrets, its database or broker, or the other runners.
//!
//! - **User**: started as root, the worker runs its runners as `ACTUATE_PYTHON_USER`
//!   (default `nobody`), so `/proc/<worker>/environ`, `mem` and `fd` are another user's.
//!   Started as anyone else, runners share the worker's user, and the worker makes itself
//!   non-dumpable ([`protect_this_process`]) so those files are root's to read. Runners are
//!   non-dumpable too, so one runner's steps cannot read another's memory.
//! - **Network** ([`NetworkPolicy`]): a seccomp filter refuses `socket()` (all families in
//!   `none`; all but IPv4/IPv6 in `guarded`), and where the kernel lets us (root, or
//!   unprivileged user namespaces) the runner also gets a network namespace of its own, empty
//!   but for the loopback device that, in `guarded`, holds the worker's proxy.
//! - **System calls** any mode refuses: tracing other processes and reading their memory,
//!   new namespaces, io_uring (which opens sockets without `socket()`), BPF, kernel keyrings,
//!   mounts and the like. Refused calls fail with EPERM/EACCES; nothing is killed.
//!
//! The runner applies all of this to itself, in order, before Python starts: network namespace
//! (while it may still be root), user, then [`lock_down`].

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

/// `ACTUATE_PYTHON_NETWORK`: what user code may reach over the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkPolicy {
    /// No sockets at all (the default).
    None,
    /// Outbound HTTP(S) only, through the worker's proxy and its webhook SSRF guard.
    Guarded,
    /// Anything the worker's host can reach: for single-tenant installs only.
    Open,
}

impl NetworkPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Guarded => "guarded",
            Self::Open => "open",
        }
    }
}

impl std::str::FromStr for NetworkPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "guarded" => Ok(Self::Guarded),
            "open" => Ok(Self::Open),
            other => Err(format!("expected none, guarded or open, got '{other}'")),
        }
    }
}

/// The user runners run as (only when the worker is root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl RunnerUser {
    /// A user name from the password database, or a numeric uid (its group then is the
    /// user's, or the same number when the uid has no entry).
    pub fn lookup(spec: &str) -> Result<Self, String> {
        let c = CString::new(spec).map_err(|_| format!("'{spec}' is not a user name"))?;
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let numeric = spec.parse::<u32>().ok();
        // SAFETY: getpwnam_r/getpwuid_r with valid buffers; `found` points into them.
        let rc = unsafe {
            match numeric {
                Some(uid) => {
                    libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found)
                }
                None => libc::getpwnam_r(
                    c.as_ptr(),
                    &mut pwd,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut found,
                ),
            }
        };
        if rc == 0 && !found.is_null() {
            return Ok(Self {
                name: spec.to_string(),
                uid: pwd.pw_uid,
                gid: pwd.pw_gid,
            });
        }
        match numeric {
            Some(uid) => Ok(Self {
                name: spec.to_string(),
                uid,
                gid: uid,
            }),
            None => Err(format!("there is no user '{spec}' on this machine")),
        }
    }
}

/// Marks this process non-dumpable: its `/proc/<pid>/environ`, `mem`, `fd` and `maps` become
/// root's, and processes of the same user can no longer ptrace it. The worker calls it before
/// it starts a runner; runners call it for themselves.
pub fn protect_this_process() {
    // SAFETY: prctl with constant arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// In the runner, still root: become `uid`/`gid` (supplementary groups dropped first, the
/// uid last, so nothing of root's is kept: its capabilities go with the uid).
pub fn enter_user(uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain credential system calls.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(gid) != 0
            || libc::setuid(uid) != 0
        {
            return Err(io::Error::last_os_error());
        }
        // A process that can become root again would undo all of the above.
        if libc::setuid(0) == 0 {
            return Err(io::Error::other("could not drop root"));
        }
    }
    Ok(())
}

/// The fixed address of the guarded proxy inside a runner's own network namespace.
pub const PROXY_PORT: u16 = 3128;

/// In the runner, before it drops root (if it has it): a network namespace of its own. Root
/// simply unshares one; anyone else tries a user namespace too, mapping its own uid and gid
/// onto themselves (so nothing changes for user code but the network) and dropping the
/// capabilities the new namespace grants. With `listener_to` (guarded), the loopback device is
/// brought up and a TCP listener on 127.0.0.1:[`PROXY_PORT`] is sent over that Unix socket to
/// the worker, which serves its proxy there.
///
/// This runs after exec, not between fork and exec: writing a user namespace's maps needs
/// `/proc/self`, which is root's in a copy of the (non-dumpable) worker.
pub fn enter_network_namespace(listener_to: Option<RawFd>) -> io::Result<()> {
    // SAFETY: namespace, socket and descriptor system calls on our own process.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNET) != 0 {
            let (uid, gid) = (libc::geteuid(), libc::getegid());
            if uid == 0 || libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                return Err(io::Error::last_os_error());
            }
            map_ids(uid, gid)?;
            if let Some(channel) = listener_to {
                send_listener(channel)?;
            }
            return drop_capabilities();
        }
        if let Some(channel) = listener_to {
            send_listener(channel)?;
        }
    }
    Ok(())
}

unsafe fn send_listener(channel: RawFd) -> io::Result<()> {
    unsafe {
        loopback_up()?;
        let listener = proxy_listener()?;
        let sent = send_fd(channel, listener);
        libc::close(listener);
        sent
    }
}

/// Empties every capability set (those a new user namespace grants its creator).
unsafe fn drop_capabilities() -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset with a v3 header and two data words, as the kernel expects.
    if unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes `uid uid 1` / `gid gid 1` into the new user namespace's maps.
unsafe fn map_ids(uid: u32, gid: u32) -> io::Result<()> {
    unsafe fn write_file(path: &std::ffi::CStr, text: &[u8]) -> io::Result<()> {
        unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let written = libc::write(fd, text.as_ptr().cast(), text.len());
            libc::close(fd);
            if written != text.len() as isize {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
    // "<id> <id> 1" without allocating: digits into a stack buffer.
    fn line(id: u32, buf: &mut [u8; 32]) -> &[u8] {
        let mut digits = [0u8; 10];
        let mut n = id;
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut at = 0;
        for _ in 0..2 {
            for i in (0..len).rev() {
                buf[at] = digits[i];
                at += 1;
            }
            buf[at] = b' ';
            at += 1;
        }
        buf[at] = b'1';
        &buf[..=at]
    }
    let mut buf = [0u8; 32];
    unsafe {
        write_file(c"/proc/self/setgroups", b"deny")?;
        write_file(c"/proc/self/uid_map", line(uid, &mut buf))?;
        let mut buf = [0u8; 32];
        write_file(c"/proc/self/gid_map", line(gid, &mut buf))
    }
}

/// `ip link set lo up`, in the calling process's network namespace.
unsafe fn loopback_up() -> io::Result<()> {
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let ok = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) == 0 && {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) == 0
        };
        let error = io::Error::last_os_error();
        libc::close(fd);
        if ok { Ok(()) } else { Err(error) }
    }
}

/// A TCP listener on 127.0.0.1:[`PROXY_PORT`].
unsafe fn proxy_listener() -> io::Result<RawFd> {
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: PROXY_PORT.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        if libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        ) != 0
            || libc::listen(fd, 128) != 0
        {
            let error = io::Error::last_os_error();
            libc::close(fd);
            return Err(error);
        }
        Ok(fd)
    }
}

/// Sends `fd` over the Unix socket `channel` (SCM_RIGHTS), with one byte of payload.
unsafe fn send_fd(channel: RawFd, fd: RawFd) -> io::Result<()> {
    unsafe {
        let mut byte = [0u8; 1];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        // Room for one cmsghdr and one fd, aligned as the kernel wants.
        let mut control = [0u64; 4];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
        if libc::sendmsg(channel, &msg, 0) != 1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Receives the one fd [`send_fd`] sent (the worker's side).
pub fn receive_fd(channel: RawFd) -> io::Result<RawFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = [0u64; 4];
    // SAFETY: a msghdr pointing at live buffers; the fd is read only if the kernel put one.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        if libc::recvmsg(channel, &mut msg, libc::MSG_CMSG_CLOEXEC) != 1 {
            return Err(io::Error::last_os_error());
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null()
            || (*cmsg).cmsg_level != libc::SOL_SOCKET
            || (*cmsg).cmsg_type != libc::SCM_RIGHTS
        {
            return Err(io::Error::other("no descriptor received"));
        }
        Ok(std::ptr::read_unaligned(
            libc::CMSG_DATA(cmsg).cast::<RawFd>(),
        ))
    }
}

/// In the runner, before Python starts: non-dumpable, no new privileges, and the seccomp filters
/// for `policy`. Every thread and process the runner starts inherits them.
pub fn lock_down(policy: NetworkPolicy) -> Result<(), String> {
    protect_this_process();
    for program in filters(policy)? {
        seccompiler::apply_filter(&program)
            .map_err(|e| format!("cannot apply a seccomp filter: {e}"))?;
    }
    Ok(())
}

/// In a step's process, once it leads its own process group: it may not leave that group (so
/// the zygote's kill of the group reaches everything the step started).
pub fn lock_step() -> Result<(), String> {
    let arch: TargetArch = std::env::consts::ARCH
        .try_into()
        .map_err(|_| format!("no seccomp support for {}", std::env::consts::ARCH))?;
    let mut rules = BTreeMap::from([(libc::SYS_setsid, vec![]), (libc::SYS_setpgid, vec![])]);
    if arch == TargetArch::x86_64 {
        rules.insert(libc::SYS_setsid | X32_SYSCALL_BIT, vec![]);
        rules.insert(libc::SYS_setpgid | X32_SYSCALL_BIT, vec![]);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| e.to_string())?;
    let program: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    seccompiler::apply_filter(&program).map_err(|e| e.to_string())
}

/// In a session's process, with Landlock (Linux 5.13+; best effort where the kernel lacks it):
/// the whole filesystem becomes read-only, the shared scratch places (`/tmp`, `/var/tmp`,
/// `/dev/shm`) disappear, and `private` (the session's own directory) is the one place it may
/// write. Signals to processes outside the session are refused (Linux 6.12+). So sessions of
/// different tenants, which share one user, can neither read each other's files nor kill each
/// other's processes. `readable` are granted reading too wherever they are (the import path of
/// user code, which may well live under `/tmp`).
pub fn confine_files(
    private: &std::path::Path,
    readable: &[std::path::PathBuf],
) -> Result<(), String> {
    use landlock::{
        ABI, Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
        RulesetError, Scope,
    };
    let abi = ABI::V6;
    let read = AccessFs::from_read(abi);
    let file_rw = AccessFs::from_file(abi);
    let mut rules = Vec::new();
    let mut grant = |path: &std::path::Path, access| {
        // A path gone meanwhile, or unreadable to us anyway, is simply not granted.
        if let Ok(fd) = PathFd::new(path) {
            rules.push(PathBeneath::new(fd, access));
        }
    };
    // Directories get reading and listing; files (a zip on the import path) reading only, as
    // Landlock refuses directory rights on a file.
    let reading = |path: &std::path::Path| {
        let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        if is_dir { read } else { read & file_rw }
    };
    for (dir, hidden) in [
        ("/", &["tmp", "var", "dev"][..]),
        ("/var", &["tmp"]),
        ("/dev", &["shm", "mqueue"]),
    ] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if hidden.iter().any(|h| entry.file_name() == *h) {
                continue;
            }
            let path = entry.path();
            grant(&path, reading(&path));
        }
    }
    for device in ["/dev/null", "/dev/zero", "/dev/full"] {
        grant(std::path::Path::new(device), file_rw);
    }
    for path in readable {
        grant(path, reading(path));
    }
    grant(private, AccessFs::from_all(abi));
    Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.scope(Scope::from_all(abi)))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(rules.into_iter().map(Ok::<_, RulesetError>)))
        .and_then(|r| r.restrict_self())
        .map(|_| ())
        .map_err(|e| format!("cannot confine the session: {e}"))
}

/// The Landlock ABI version this kernel (and any outer seccomp profile) allows; 0 if none.
pub fn landlock_abi() -> i64 {
    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
    // SAFETY: the version query takes no ruleset and touches no memory.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    version.max(0)
}

/// One filter per answer: sockets are refused with EACCES ("Permission denied" in Python),
/// the calls no mode allows with EPERM, and clone3 with ENOSYS, so that libc falls back to
/// clone, whose flags (unlike clone3's, which sit behind a pointer) a filter can see.
fn filters(policy: NetworkPolicy) -> Result<Vec<BpfProgram>, String> {
    let arch: TargetArch = std::env::consts::ARCH
        .try_into()
        .map_err(|_| format!("no seccomp support for {}", std::env::consts::ARCH))?;
    let cond = |arg, op, value| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(|e| e.to_string())
    };
    let rule = |conditions| SeccompRule::new(conditions).map_err(|e| e.to_string());

    let mut sockets = BTreeMap::new();
    match policy {
        NetworkPolicy::None => {
            sockets.insert(libc::SYS_socket, vec![]);
        }
        NetworkPolicy::Guarded => {
            sockets.insert(
                libc::SYS_socket,
                vec![rule(vec![
                    cond(0, SeccompCmpOp::Ne, libc::AF_INET as u64)?,
                    cond(0, SeccompCmpOp::Ne, libc::AF_INET6 as u64)?,
                ])?],
            );
        }
        NetworkPolicy::Open => {}
    }

    let mut denied: BTreeMap<i64, Vec<SeccompRule>> =
        ALWAYS_DENIED.iter().map(|call| (*call, vec![])).collect();
    let mut namespaces = Vec::new();
    for flag in [
        libc::CLONE_NEWNS,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWCGROUP,
    ] {
        let flag = flag as u64;
        namespaces.push(rule(vec![cond(0, SeccompCmpOp::MaskedEq(flag), flag)?])?);
    }
    denied.insert(libc::SYS_clone, namespaces);

    let clone3 = BTreeMap::from([(libc::SYS_clone3, vec![])]);

    let mut programs = Vec::new();
    for (mut rules, errno) in [
        (sockets, libc::EACCES),
        (denied, libc::EPERM),
        (clone3, libc::ENOSYS),
    ] {
        if rules.is_empty() {
            continue;
        }
        // The x32 ABI shares x86-64's audit architecture, with bit 30 set in the call number.
        if arch == TargetArch::x86_64 {
            let native: Vec<_> = rules.iter().map(|(n, r)| (*n, r.clone())).collect();
            for (number, list) in native {
                rules.insert(number | X32_SYSCALL_BIT, list);
            }
        }
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch,
        )
        .map_err(|e| e.to_string())?;
        programs.push(
            filter
                .try_into()
                .map_err(|e: seccompiler::BackendError| e.to_string())?,
        );
    }
    Ok(programs)
}

const X32_SYSCALL_BIT: i64 = 0x4000_0000;

/// Refused in every mode: reading or steering other processes, leaving the sandbox, and kernel
/// interfaces user code has no business with.
const ALWAYS_DENIED: &[i64] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_open_by_handle_at,
    libc::SYS_kexec_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
];
