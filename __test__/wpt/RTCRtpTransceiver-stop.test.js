'use strict';

require('./runner/suite')('RTCRtpTransceiver-stop.html');
