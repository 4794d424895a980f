# ward — call the host's functions from inside a ward box.
#
#     require "ward"
#     post = Ward.call("get_post", 3)
#     post = Ward.fn.get_post(3)
#
# A failed call raises Ward::Error (#code, #message from the host).
# Protocol: ward's docs/PROTOCOL.md (4-byte big-endian length + JSON on the
# fd named by WARD_CHANNEL_FD). Only Ruby's standard library (json).
require "json"

module Ward
  class Error < StandardError
    attr_reader :code, :host_message

    def initialize(code, message)
      super("#{code}: #{message}")
      @code = code
      @host_message = message
    end
  end

  @io = nil
  @next_id = 0
  @lock = Mutex.new

  def self.channel
    @io ||= begin
      v = ENV["WARD_CHANNEL_FD"]
      raise Error.new("no-channel", "WARD_CHANNEL_FD is not set: this box has no host functions") if v.nil? || v.empty?
      io = IO.for_fd(Integer(v), autoclose: false)
      io.binmode
      io.sync = true
      io
    end
  end

  def self.read_exact(io, n)
    buf = +""
    while buf.bytesize < n
      chunk = io.sysread(n - buf.bytesize)
      buf << chunk
    end
    buf
  rescue EOFError
    raise Error.new("closed", "the host closed the channel")
  end

  def self.call(name, *args)
    reply = @lock.synchronize do
      io = channel
      @next_id += 1
      body = JSON.generate({ "id" => @next_id, "fn" => name.to_s, "args" => args }).b
      msg = [body.bytesize].pack("N") + body
      written = 0
      written += io.syswrite(msg.byteslice(written..-1)) while written < msg.bytesize
      n = read_exact(io, 4).unpack1("N")
      JSON.parse(read_exact(io, n).force_encoding("UTF-8"))
    end
    err = reply["error"]
    raise Error.new(err["code"], err["message"]) if err
    reply["result"]
  end

  # Ward.fn.NAME(*args) is Ward.call("NAME", *args).
  class Functions < BasicObject
    def method_missing(name, *args)
      ::Ward.call(name.to_s, *args)
    end

    def respond_to_missing?(_name, _priv = false)
      true
    end
  end

  def self.fn
    @fn ||= Functions.new
  end
end
