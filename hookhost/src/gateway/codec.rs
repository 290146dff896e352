//! The gRPC codec of `hookhost plugin`: prost's, but a request whose bytes
//! are not the message they claim to be is `InvalidArgument` (the caller's
//! fault, as gRPC's status codes say), not prost's `Internal`.

use std::marker::PhantomData;

use tonic::Status;
use tonic::codec::{BufferSettings, Codec as TonicCodec, DecodeBuf, Decoder};
use tonic_prost::prost::Message;
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// Used by the generated services (`codec_path` in `build.rs`).
#[derive(Debug)]
pub struct Codec<T, U>(ProstCodec<T, U>, PhantomData<(T, U)>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Codec(ProstCodec::default(), PhantomData)
    }
}

impl<T, U> TonicCodec for Codec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = InvalidArgument<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        InvalidArgument(self.0.decoder())
    }
}

/// prost's decoder, its failures turned into `InvalidArgument`.
#[derive(Debug)]
pub struct InvalidArgument<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for InvalidArgument<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|status| {
            Status::invalid_argument(format!("malformed message: {}", status.message()))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
