//! The Internet (ones-complement) checksum, RFC 1071.
//!
//! CARP uses it bare over its 36-byte header; VRRPv3 seeds it with an IP pseudo-header. Both go
//! through [`Accumulator`], which sums any sequence of byte slices as if they were one buffer,
//! so a pseudo-header never has to be copied in front of the packet.

/// Checksum of `data` (odd length padded with a zero byte), ready to store big-endian.
///
/// Summing a buffer whose checksum field already holds this value gives 0, which is how the
/// receive side verifies: `internet(received) == 0`.
pub fn internet(data: &[u8]) -> u16 {
    Accumulator::new().feed(data).finish()
}

/// Running ones-complement sum over a sequence of slices.
///
/// Slices may have odd lengths: a dangling byte is carried over and paired with the first byte
/// of the next slice, exactly as if all slices were concatenated.
#[derive(Clone, Copy, Debug, Default)]
pub struct Accumulator {
    /// Unfolded 16-bit word sum. A u64 cannot overflow for any buffer a network delivers
    /// (it would take 2^48 words), so folding happens once, in `finish`.
    sum: u64,
    /// The high byte of a word whose low byte has not been seen yet.
    pending: Option<u8>,
}

impl Accumulator {
    pub fn new() -> Accumulator {
        Accumulator::default()
    }

    /// Add `data` as the continuation of everything added so far.
    pub fn feed(mut self, mut data: &[u8]) -> Accumulator {
        if let Some(high) = self.pending.take() {
            match data.split_first() {
                Some((&low, rest)) => {
                    self.sum += u64::from(u16::from_be_bytes([high, low]));
                    data = rest;
                }
                None => {
                    self.pending = Some(high);
                    return self;
                }
            }
        }
        let mut words = data.chunks_exact(2);
        for word in &mut words {
            self.sum += u64::from(u16::from_be_bytes([word[0], word[1]]));
        }
        if let [last] = words.remainder() {
            self.pending = Some(*last);
        }
        self
    }

    /// Fold the carries and complement; a trailing odd byte is padded with zero.
    pub fn finish(self) -> u16 {
        let mut sum = self.sum;
        if let Some(high) = self.pending {
            sum += u64::from(high) << 8;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (after the end-around carry),
        // so the checksum is its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet(&data), !0xddf2);
    }

    #[test]
    fn empty_and_zero_buffers() {
        assert_eq!(internet(&[]), 0xffff);
        assert_eq!(internet(&[0; 36]), 0xffff);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(
            internet(&[0x12, 0x34, 0x56]),
            internet(&[0x12, 0x34, 0x56, 0x00])
        );
    }

    #[test]
    fn storing_the_checksum_makes_the_sum_verify() {
        let mut data =
            *b"\x45\x00\x00\x73\x00\x00\x40\x00\x40\x11\x00\x00\xc0\xa8\x00\x01\xc0\xa8\x00\xc7";
        let sum = internet(&data);
        // The classic Wikipedia IPv4 header example: checksum b861.
        assert_eq!(sum, 0xb861);
        data[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(internet(&data), 0);
    }

    #[test]
    fn split_slices_sum_like_the_concatenation() {
        let data: Vec<u8> = (0u8..=200).map(|b| b.wrapping_mul(37)).collect();
        let whole = internet(&data);
        for cut1 in [0, 1, 2, 7, 50, 101] {
            for cut2 in [cut1, cut1 + 1, cut1 + 3, 150, 201] {
                if cut2 < cut1 || cut2 > data.len() {
                    continue;
                }
                let split = Accumulator::new()
                    .feed(&data[..cut1])
                    .feed(&data[cut1..cut2])
                    .feed(&[])
                    .feed(&data[cut2..])
                    .finish();
                assert_eq!(split, whole, "cuts at {cut1} and {cut2}");
            }
        }
    }

    #[test]
    fn carries_fold_repeatedly() {
        // 0xffff words: each adds a carry; the result must still be a valid ones-complement sum.
        let data = [0xff; 4096];
        assert_eq!(internet(&data), 0);
    }
}
