//! A count of things in flight per client address, with a cap: logins admitted to `/token`,
//! open connections.
//!
//! This is a keyed concurrency limit, not a rate: governor (the login throttle) counts events
//! over time, and tower's `ConcurrencyLimit` has one budget for everyone, so the few lines
//! below keep a count per address and forget the address at zero.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// The address already has as many in flight as it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many in flight from this address")]
pub struct AddressBusy;

#[derive(Debug)]
pub struct PerAddressLimit {
    limit: usize,
    in_flight: Mutex<HashMap<IpAddr, usize>>,
}

impl PerAddressLimit {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            in_flight: Mutex::default(),
        })
    }

    /// Takes one of `address`'s places, held until the permit is dropped (whether the work
    /// finished or was cancelled).
    pub fn acquire(self: &Arc<Self>, address: IpAddr) -> Result<AddressPermit, AddressBusy> {
        let mut in_flight = self.lock();
        let count = in_flight.entry(address).or_insert(0);
        if *count >= self.limit {
            return Err(AddressBusy);
        }
        *count += 1;
        Ok(AddressPermit {
            limit: Arc::clone(self),
            address,
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Plain counts: consistent after any panic.
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

// What the tests observe; the server itself only acquires and drops.
#[cfg(test)]
impl PerAddressLimit {
    /// How many `address` has in flight.
    pub fn in_flight(&self, address: IpAddr) -> usize {
        self.lock().get(&address).copied().unwrap_or(0)
    }

    /// How many addresses have anything in flight; bounded by the permits alive.
    pub fn addresses(&self) -> usize {
        self.lock().len()
    }
}

/// One place taken; dropping it gives the place back.
#[derive(Debug)]
pub struct AddressPermit {
    limit: Arc<PerAddressLimit>,
    address: IpAddr,
}

impl AddressPermit {
    pub fn address(&self) -> IpAddr {
        self.address
    }
}

impl Drop for AddressPermit {
    fn drop(&mut self) {
        let mut in_flight = self.limit.lock();
        if let Some(count) = in_flight.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                in_flight.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOODER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 31));

    #[test]
    fn an_address_gets_its_places_and_no_more() {
        let limit = PerAddressLimit::new(2);
        let first = limit.acquire(FLOODER).unwrap();
        let second = limit.acquire(FLOODER).unwrap();
        assert_eq!(limit.acquire(FLOODER).unwrap_err(), AddressBusy);
        assert_eq!(limit.in_flight(FLOODER), 2);
        drop(first);
        let third = limit.acquire(FLOODER).unwrap();
        drop((second, third));
        assert_eq!(limit.in_flight(FLOODER), 0);
        assert_eq!(limit.addresses(), 0, "idle addresses are forgotten");
    }

    #[test]
    fn a_busy_address_takes_nothing_from_another() {
        let limit = PerAddressLimit::new(1);
        let _held = limit.acquire(FLOODER).unwrap();
        for _ in 0..100 {
            assert_eq!(limit.acquire(FLOODER).unwrap_err(), AddressBusy);
        }
        let other = limit.acquire(OTHER).unwrap();
        assert_eq!(other.address(), OTHER);
        assert_eq!(limit.in_flight(FLOODER), 1);
        assert_eq!(limit.addresses(), 2);
    }
}
