'use strict';

require('./runner/suite')('RTCRtpTransceiver-direction.html');
