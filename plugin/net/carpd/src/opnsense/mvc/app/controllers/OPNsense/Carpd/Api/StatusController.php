<?php

/*
 * Copyright (C) 2026 carpd contributors
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are met:
 *
 * 1. Redistributions of source code must retain the above copyright notice,
 *    this list of conditions and the following disclaimer.
 *
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES,
 * INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY
 * AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
 * AUTHOR BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY,
 * OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 * SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 * INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 * CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 * ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 * POSSIBILITY OF SUCH DAMAGE.
 */

namespace OPNsense\Carpd\Api;

use OPNsense\Base\ApiControllerBase;
use OPNsense\Core\Backend;

/**
 * /api/carpd/status/...: carpd's status and operator commands through configd (topic `carp`,
 * actions_carp.conf). Every answer is the JSON carpd printed, or
 * {"status": "failed", "reason": ...}. Input is checked here before configd sees it.
 */
class StatusController extends ApiControllerBase
{
    /** a named demotion source, e.g. service:openvpn */
    private const NAME_PATTERN = '/^[A-Za-z0-9_.:-]{1,64}$/';

    /** +N or -N (added to the named contribution), or clear */
    private const CHANGE_PATTERN = '/^([+-][0-9]{1,4}|clear)$/';

    private static function failed($reason)
    {
        return ['status' => 'failed', 'reason' => $reason];
    }

    /**
     * carpd answers JSON; configd's own errors ("Execute error", "Action not allowed or
     * missing") and timeouts (empty answer) come back as text.
     */
    private static function decode($raw)
    {
        $text = trim((string)$raw);
        $data = json_decode($text, true);
        if (is_array($data)) {
            return $data;
        }
        if ($text === '') {
            return self::failed(gettext('No answer from configd (timeout, or configd is not running).'));
        }
        return self::failed($text);
    }

    /**
     * GET /api/carpd/status/status: `configctl carp status`, get_vip_status's rows and carp
     * object with carpd's extras (rows[].carpd, carpd).
     */
    public function statusAction()
    {
        return self::decode((new Backend())->configdRun('carp status'));
    }

    /**
     * POST /api/carpd/status/maintenance/enter|leave: persistent maintenance mode.
     */
    public function maintenanceAction($verb = null)
    {
        if (!$this->request->isPost()) {
            return self::failed(gettext('Use POST.'));
        }
        if ($verb === 'enter') {
            return self::decode((new Backend())->configdRun('carp maintenance enter'));
        }
        if ($verb === 'leave') {
            return self::decode((new Backend())->configdRun('carp maintenance leave'));
        }
        return self::failed(gettext('Maintenance takes "enter" or "leave".'));
    }

    /**
     * POST /api/carpd/status/demote with name, change (+N, -N or clear) and persistent (1/0).
     */
    public function demoteAction()
    {
        if (!$this->request->isPost()) {
            return self::failed(gettext('Use POST.'));
        }
        $name = $this->request->getPost('name');
        $change = $this->request->getPost('change');
        $persistent = $this->request->getPost('persistent');
        if (is_bool($persistent) || is_int($persistent)) {
            $persistent = $persistent ? '1' : '0';
        } elseif ($persistent === null || $persistent === '') {
            $persistent = '0';
        }

        if (!is_string($name) || !preg_match(self::NAME_PATTERN, $name)) {
            return self::failed(gettext(
                'The name is 1 to 64 characters: letters, digits, "_", ".", ":" and "-".'
            ));
        }
        if (!is_string($change) || !preg_match(self::CHANGE_PATTERN, $change)) {
            return self::failed(gettext('The change is +N or -N (up to 4 digits), or "clear".'));
        }
        if ($persistent === '1') {
            return self::decode((new Backend())->configdpRun('carp demote_persistent', [$name, $change]));
        }
        if ($persistent === '0') {
            return self::decode((new Backend())->configdpRun('carp demote', [$name, $change]));
        }
        return self::failed(gettext('Persistent is "1" or "0".'));
    }

    /**
     * POST /api/carpd/status/replay: run the transition hooks again for every VHID's current
     * state.
     */
    public function replayAction()
    {
        if (!$this->request->isPost()) {
            return self::failed(gettext('Use POST.'));
        }
        return self::decode((new Backend())->configdRun('carp hooks replay'));
    }
}
