//! Privileges. Live capture needs CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF to
//! open sockets and attach the XDP program; after that every descriptor is
//! open and nothing needs a capability. Linux keeps capabilities per thread,
//! so each long-lived thread clears its own when it starts.

/// Clear every capability set of the calling thread and forbid regaining
/// privileges through exec.
pub fn drop_thread_capabilities() -> Result<(), caps::errors::CapsError> {
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) has no memory effects.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    for set in [
        caps::CapSet::Ambient,
        caps::CapSet::Inheritable,
        caps::CapSet::Effective,
        caps::CapSet::Permitted,
    ] {
        caps::clear(None, set)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_thread_drops_its_own_capabilities_only() {
        let before = caps::read(None, caps::CapSet::Effective).unwrap();
        let after = std::thread::spawn(|| {
            super::drop_thread_capabilities().unwrap();
            caps::read(None, caps::CapSet::Effective).unwrap()
        })
        .join()
        .unwrap();
        assert!(after.is_empty(), "{after:?}");
        // The spawning thread keeps what it had.
        assert_eq!(caps::read(None, caps::CapSet::Effective).unwrap(), before);
    }
}
